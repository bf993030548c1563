"""Files under var/ hold secrets and personal data (Redis snapshots with call-back numbers, the
config snapshot with password hashes, dev tokens): only the service's own user may read them.

Directories are 0700, files 0600. ``ivr serve`` also sets the process umask to 077, so files that
other code (the embedded redis-server, logs) creates later are private from the start.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _chmod(path, DIR_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically into a 0600 file (never readable by others, not even briefly)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, FILE_MODE)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def lock_down(var_dir: Path) -> int:
    """Make every directory under ``var_dir`` 0700 and every file 0600; returns files changed.

    Run at start-up so a var/ written by an older version (world-readable) is fixed in place.
    """
    if not var_dir.exists():
        private_dir(var_dir)
        return 0
    changed = 0
    _chmod(var_dir, DIR_MODE)
    for root, dirs, files in os.walk(var_dir):
        for d in dirs:
            _chmod(Path(root) / d, DIR_MODE)
        for f in files:
            path = Path(root) / f
            if path.is_symlink() or not path.is_file():
                continue
            if path.stat().st_mode & 0o077:
                changed += _chmod(path, FILE_MODE)
    return changed


def _chmod(path: Path, mode: int) -> int:
    try:
        os.chmod(path, mode)
        return 1
    except OSError as exc:  # a file owned by someone else: say so, do not stop the service
        log.warning("could not make %s private: %s", path, exc)
        return 0
