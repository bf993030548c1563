"""1,000 unsigned or mis-signed requests across every Twilio-facing route: all 403, no state."""

from __future__ import annotations

import random
from collections import Counter

from tests.helpers import BASE, call_params, new_call_sid, signature

from .conftest import TWILIO_ROUTES


def forged_requests(n: int, seed: int = 11):
    """(path, params, headers): no signature, garbage, another token, another URL or body."""
    rng = random.Random(seed)
    routes = [*TWILIO_ROUTES, "/voice/menu?step=0", "/voice/bridge?agent=wang"]
    for i in range(n):
        path = routes[i % len(routes)]
        params = call_params(new_call_sid(), Digits=str(rng.randint(0, 9)))
        kind = i % 5
        if kind == 0:
            headers = {}
        elif kind == 1:
            headers = {"X-Twilio-Signature": rng.randbytes(20).hex()}
        elif kind == 2:
            headers = {"X-Twilio-Signature": signature(BASE + path, params, token="not-ours")}
        elif kind == 3:  # signed for another host (what a forged Host would make Flask see)
            headers = {"X-Twilio-Signature": signature("http://attacker.example" + path, params)}
        else:  # properly signed, then a value changed
            headers = {"X-Twilio-Signature": signature(BASE + path, params)}
            params = {**params, "From": "+8613900000000"}
        yield path, params, headers


def test_a_thousand_forged_requests_are_all_refused(app, client, redis_client):
    statuses: Counter = Counter()
    per_route: Counter = Counter()
    for path, params, headers in forged_requests(1000):
        resp = client.post(path, data=params, headers=headers)
        statuses[resp.status_code] += 1
        per_route[path.split("?")[0]] += 1
    assert statuses == Counter({403: 1000})
    assert set(per_route) == set(TWILIO_ROUTES)
    assert redis_client.dbsize() == 0  # nothing was stored for any of them
