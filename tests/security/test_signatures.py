"""The signature checker on twilio-python's published test vectors, and on our own routes.

Vectors (twilio-python tests/unit/test_request_validator.py): auth token ``12345``, URL
``https://mycompany.com/myapp.php?foo=1&bar=2`` and five call parameters sign to
``RSOYDt4T1cUTdK1PDd93/VVr8B8=``; a port in the URL (or the default port added) and a repeated
parameter have their own published signatures.
"""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from ivr.telephony.signature import signature_ok, signed_url, twilio_signed

TOKEN = "12345"
PARAMS = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309",
          "To": "+18005551212", "Caller": "+14158675309"}
PATH = "/myapp.php?foo=1&bar=2"


def check(public: str, sig: str, params=PARAMS, path: str = PATH) -> bool:
    """Our checker, as a view sees it: the URL rebuilt from the public URL + request path."""
    app = Flask(__name__)
    with app.test_request_context(path, method="POST", data=params,
                                  base_url="http://internal:8080",
                                  headers={"X-Twilio-Signature": sig}):
        from flask import request

        return signature_ok(request, TOKEN, signed_url(request, public, ()))


def test_published_vector():
    assert check("https://mycompany.com", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


@pytest.mark.parametrize("public, sig", [
    ("https://mycompany.com:1234", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),  # port removed on https
    ("http://mycompany.com:1234", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),   # signed with the port
    ("https://mycompany.com", "kvajT1Ptam85bY51eRf/AJRuM3w="),        # signed with :443 added
    ("http://mycompany.com", "0ZXoZLH/DfblKGATFgpif+LLRf4="),         # signed with :80 added
])
def test_published_port_vectors(public, sig):
    assert check(public, sig)


def test_published_repeated_parameter_vector():
    params = MultiDict([("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"),
                        ("Digits", "1234")])
    assert check("https://mycompany.com", "IK+Dwps556ElfBT0I3Rgjkr1wJU=", params)
    # the same parameters with one of the repeated values dropped do not verify
    fewer = MultiDict([("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "1234")])
    assert not check("https://mycompany.com", "IK+Dwps556ElfBT0I3Rgjkr1wJU=", fewer)


@pytest.mark.parametrize("public, params, path", [
    ("https://mycompany.com", {**PARAMS, "Digits": "1235"}, PATH),         # a changed value
    ("https://mycompany.com", {**PARAMS, "Extra": "1"}, PATH),             # an added parameter
    ("https://evil.example", PARAMS, PATH),                                # another host
    ("https://mycompany.com", PARAMS, "/myapp.php?foo=1&bar=3"),           # another query
    ("https://mycompany.com", PARAMS, "/other.php?foo=1&bar=2"),           # another path
])
def test_anything_changed_fails(public, params, path):
    assert not check(public, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", params, path)


def test_decorator_uses_the_public_url_not_the_host():
    app = Flask(__name__)

    @app.post("/myapp.php")
    @twilio_signed(lambda: (TOKEN, "https://mycompany.com", ()), check_formats=False)
    def view():
        return "ok"

    client = app.test_client()
    good = {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}
    assert client.post(PATH, data=PARAMS, headers=good,
                       base_url="http://attacker.example").status_code == 200
    assert client.post(PATH, data=PARAMS).status_code == 403
    assert client.post(PATH, data={**PARAMS, "To": "+19005550000"},
                       headers=good).status_code == 403
