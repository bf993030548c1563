"""Model fetch: streamed from a real local HTTP server, SHA-256 checked before unpacking."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from functools import partial

import pytest
from click.testing import CliRunner

from ivr.cli.asr import models as models_group
from ivr.speech import model_files as models


def _model_zip(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{name}/am/final.mdl", b"acoustic model")
        zf.writestr(f"{name}/conf/model.conf", b"--sample-frequency=16000\n")
        zf.writestr(f"{name}/README", b"tiny test model")
    return buf.getvalue()


@pytest.fixture
def http_root(tmp_path):
    """A real HTTP server on 127.0.0.1 serving ``tmp_path/www``."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_verifies_checksum_then_unpacks(http_root, tmp_path):
    root, base = http_root
    data = _model_zip("tiny-model")
    (root / "tiny.zip").write_bytes(data)
    seen: list[tuple[int, int | None]] = []
    dest = tmp_path / "models"
    path = models.fetch("tiny-model", dest, f"{base}/tiny.zip",
                        sha256=hashlib.sha256(data).hexdigest(),
                        progress=lambda done, total: seen.append((done, total)))
    assert path == dest / "tiny-model"
    assert (path / "am" / "final.mdl").read_bytes() == b"acoustic model"
    assert models.is_model_dir(path)
    assert seen[-1] == (len(data), len(data))
    assert [p.name for p in dest.iterdir()] == ["tiny-model"]  # no partial files left


def test_checksum_mismatch_deletes_download_and_unpacks_nothing(http_root, tmp_path):
    root, base = http_root
    (root / "tiny.zip").write_bytes(_model_zip("tiny-model"))
    dest = tmp_path / "models"
    with pytest.raises(models.ChecksumMismatch, match="SHA-256 mismatch"):
        models.fetch("tiny-model", dest, f"{base}/tiny.zip", sha256="0" * 64)
    assert list(dest.iterdir()) == []


def test_registry_model_via_mirror_uses_recorded_checksum(http_root, tmp_path):
    """A mirror of the Chinese model must still match the official SHA-256."""
    root, base = http_root
    (root / "cn.zip").write_bytes(_model_zip(models.DEFAULT_MODEL))
    with pytest.raises(models.ChecksumMismatch):
        models.fetch(models.DEFAULT_MODEL, tmp_path / "m", f"{base}/cn.zip")


def test_unknown_checksum_needs_explicit_consent(http_root, tmp_path):
    root, base = http_root
    (root / "en.zip").write_bytes(_model_zip("vosk-model-small-en-us-0.15"))
    with pytest.raises(models.ModelFetchError, match="--sha256"):
        models.fetch("vosk-model-small-en-us-0.15", tmp_path / "m", f"{base}/en.zip")
    path = models.fetch("vosk-model-small-en-us-0.15", tmp_path / "m", f"{base}/en.zip",
                        allow_unverified=True)
    assert models.is_model_dir(path)


def test_http_error_and_non_model_archive(http_root, tmp_path):
    root, base = http_root
    with pytest.raises(models.ModelFetchError, match="404"):
        models.fetch("x", tmp_path / "m", f"{base}/missing.zip", allow_unverified=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil", b"x")
    (root / "evil.zip").write_bytes(buf.getvalue())
    with pytest.raises(models.ModelFetchError, match="unsafe path"):
        models.fetch("x", tmp_path / "m", f"{base}/evil.zip", allow_unverified=True)


def test_cli_fetch_and_list(http_root, tmp_path):
    root, base = http_root
    data = _model_zip("tiny-model")
    (root / "tiny.zip").write_bytes(data)
    runner = CliRunner()
    res = runner.invoke(models_group, ["fetch", "tiny-model", "--dir", str(tmp_path),
                                       "--url", f"{base}/tiny.zip",
                                       "--sha256", hashlib.sha256(data).hexdigest()])
    assert res.exit_code == 0, res.output
    assert "tiny-model ready" in res.output
    res = runner.invoke(models_group, ["fetch", "tiny-model", "--dir", str(tmp_path / "b"),
                                       "--url", f"{base}/tiny.zip", "--sha256", "1" * 64])
    assert res.exit_code == 1 and "mismatch" in res.output
    res = runner.invoke(models_group, ["list", "--dir", str(tmp_path)])
    assert res.exit_code == 0 and "vosk-model-small-cn" in res.output
