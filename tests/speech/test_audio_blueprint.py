"""GET /audio/<name>: headers, bytes, ranges, and refusal of names that are not ours."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from ivr.config.voice_profiles import load_profiles
from ivr.services import EXTENSION_KEY
from ivr.speech.voices import VoiceCatalog
from ivr.telephony.audio_route import bp

REPO = Path(__file__).resolve().parents[2]
TEXT = "您好，如需人工服务，请按零。"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A tiny app with a real catalog and one real rendered prompt."""
    profiles = load_profiles(REPO / "voices" / "profiles.yaml")
    catalog = VoiceCatalog(tmp_path_factory.mktemp("voices"), profiles, workers=1)
    catalog.render_all([(TEXT, "mandarin")], modes=["elder"], fragments=False)
    app = Flask(__name__)
    app.extensions[EXTENSION_KEY] = SimpleNamespace(voices=catalog)
    app.register_blueprint(bp)
    url = catalog.playable(TEXT, "mandarin", "elder").url
    assert url
    yield app.test_client(), url, catalog.cache_dir / url.rsplit("/", 1)[1]
    catalog.close()


def test_serves_the_file_with_cache_headers(served):
    client, url, path = served
    resp = client.get(url)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "audio/wav"
    assert resp.data == path.read_bytes()
    assert resp.headers["ETag"] == f'"{path.stem}"'
    assert resp.headers["Accept-Ranges"] == "bytes"
    cache = resp.headers["Cache-Control"]
    assert "immutable" in cache and "max-age=31536000" in cache


def test_etag_revalidation_gives_304(served):
    client, url, path = served
    resp = client.get(url, headers={"If-None-Match": f'"{path.stem}"'})
    assert resp.status_code == 304 and not resp.data


def test_range_request_gives_206_with_those_bytes(served):
    client, url, path = served
    resp = client.get(url, headers={"Range": "bytes=100-299"})
    assert resp.status_code == 206
    assert resp.data == path.read_bytes()[100:300]
    assert resp.headers["Content-Range"] == f"bytes 100-299/{path.stat().st_size}"


def test_missing_but_well_formed_name_is_404(served):
    client, _, _ = served
    assert client.get("/audio/" + "0" * 64 + ".wav").status_code == 404


@pytest.mark.parametrize("name", [
    "../x", "..%2fx", "%2e%2e", "%2e%2e%2fprofiles.yaml", "rates.json", "ABC.wav",
    "0" * 63 + ".wav", "0" * 64 + ".WAV", "0" * 64 + ".wav.tmp", "g" * 64 + ".wav",
])
def test_foreign_names_are_refused_without_touching_the_disk(served, monkeypatch, name):
    client, _, _ = served

    def no_fs(*a, **k):
        raise AssertionError("filesystem touched")

    monkeypatch.setattr(Path, "is_file", no_fs)
    monkeypatch.setattr(Path, "exists", no_fs)
    assert client.get("/audio/" + name).status_code == 404
