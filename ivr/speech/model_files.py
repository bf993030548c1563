"""Known Vosk models and a verified download: fetch, check SHA-256, then unpack.

The Chinese model is not on any package registry, so the project fetches it from Alpha Cephei.
The archive is hashed while it streams and is unpacked only if the digest matches: a corrupt or
tampered model must never reach the recognizer. Models land in ``models/<name>/`` (git-ignored).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import requests

log = logging.getLogger(__name__)

CHUNK = 1 << 16


@dataclass(frozen=True)
class ModelInfo:
    name: str
    url: str
    language: str
    size: int | None = None  # bytes of the zip, when published
    sha256: str | None = None  # of the zip; None = not recorded (pass one, or allow unverified)
    note: str = ""


REGISTRY: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo(
            "vosk-model-small-cn-0.22",
            "https://alphacephei.com/vosk/models/vosk-model-small-cn-0.22.zip",
            "Mandarin",
            43_898_754,
            "3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba",
            "small, runtime grammars; the default for every dialect",
        ),
        ModelInfo(
            "vosk-model-small-en-us-0.15",
            "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
            "US English",
            note="no recorded checksum: pass --sha256 or --allow-unverified",
        ),
    )
}
DEFAULT_MODEL = "vosk-model-small-cn-0.22"


class ModelFetchError(RuntimeError):
    """A download that must not be used (network, size or checksum problem)."""


class ChecksumMismatch(ModelFetchError):
    pass


def models_dir(root: str | Path | None = None) -> Path:
    """Where models live: ``IVR_MODELS_DIR``, else ``<IVR_ROOT or cwd>/models``."""
    env = os.environ.get("IVR_MODELS_DIR")
    if env:
        return Path(env)
    return Path(root or os.environ.get("IVR_ROOT") or Path.cwd()) / "models"


def is_model_dir(path: str | Path) -> bool:
    """A Vosk model folder has an acoustic model (``am/``) or ``final.mdl`` and a ``conf/``."""
    p = Path(path)
    return p.is_dir() and ((p / "am").is_dir() or (p / "final.mdl").exists())


def fetch(
    name: str,
    dest_dir: str | Path,
    url: str | None = None,
    *,
    sha256: str | None = None,
    allow_unverified: bool = False,
    force: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download model ``name`` into ``dest_dir/<name>/`` and return that folder.

    ``url`` overrides the registry URL (a mirror); ``sha256`` overrides the recorded digest.
    ``progress(done, total)`` is called as bytes arrive. Raises ``ChecksumMismatch`` (the
    download is deleted) or ``ModelFetchError``.
    """
    info = REGISTRY.get(name)
    if info is None and url is None:
        raise ModelFetchError(f"unknown model {name!r} and no --url; known: {', '.join(REGISTRY)}")
    url = url or info.url
    expected = (sha256 or (info.sha256 if info else None) or "").lower() or None
    if expected is None and not allow_unverified:
        raise ModelFetchError(
            f"no SHA-256 recorded for {name}; pass --sha256 HEX or --allow-unverified"
        )
    dest_root = Path(dest_dir)
    target = dest_root / name
    if is_model_dir(target) and not force:
        log.info("model %s already present at %s", name, target)
        return target
    dest_root.mkdir(parents=True, exist_ok=True)
    part = dest_root / f".{name}.zip.part"
    try:
        digest, size = _download(url, part, progress, timeout)
        if info and info.size and not sha256 and url == info.url and size != info.size:
            raise ModelFetchError(f"{name}: got {size} bytes, expected {info.size}")
        if expected and digest != expected:
            raise ChecksumMismatch(
                f"SHA-256 mismatch for {name}: expected {expected}, got {digest}; "
                "the download was deleted and nothing was unpacked"
            )
        if not expected:
            log.warning("%s NOT verified (no checksum); its SHA-256 is %s", name, digest)
        _unpack(part, dest_root, target)
    finally:
        part.unlink(missing_ok=True)
    log.info("model %s installed at %s", name, target)
    return target


def _download(url: str, part: Path, progress, timeout: float) -> tuple[str, int]:
    h = hashlib.sha256()
    done = 0
    try:
        with requests.get(url, stream=True, timeout=timeout) as resp:
            resp.raise_for_status()
            total = int(resp.headers.get("Content-Length") or 0) or None
            with open(part, "wb") as fh:
                for chunk in resp.iter_content(CHUNK):
                    fh.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
    except requests.RequestException as exc:
        raise ModelFetchError(f"download of {url} failed: {exc}") from exc
    return h.hexdigest(), done


def _unpack(archive: Path, dest_root: Path, target: Path) -> None:
    """Extract into a temp folder beside the target, then move the model folder into place."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise ModelFetchError(f"{archive.name} is not a zip archive") from exc
    with zf, tempfile.TemporaryDirectory(dir=dest_root, prefix=".unpack-") as tmp:
        for member in zf.namelist():
            parts = PurePosixPath(member).parts
            if member.startswith(("/", "\\")) or ".." in parts:
                raise ModelFetchError(f"unsafe path in archive: {member!r}")
        zf.extractall(tmp)
        root = Path(tmp)
        entries = [p for p in root.iterdir() if not p.name.startswith("__MACOSX")]
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]  # the usual layout: <name>/am, <name>/conf, ...
        if not is_model_dir(root):
            raise ModelFetchError("archive does not contain a Vosk model (no am/ folder)")
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(root), str(target))
