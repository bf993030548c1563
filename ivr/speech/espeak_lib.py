"""Which libespeak-ng renders prompts: the system's (Debian `espeak-ng`) or the one bundled in the
`espeakng-loader` wheel, so `pip install -e .` renders real prompts with no system package.

pyttsx3's espeak driver opens ``libespeak-ng.so.1`` by name. When the system has none, the bundled
library is loaded first (RTLD_GLOBAL, same soname), so the driver's own load finds it, and its
voice data (Mandarin ``cmn``, Cantonese ``yue``) is passed to ``espeak_Initialize``.

``IVR_ESPEAK=system|bundled`` forces one (default ``auto``: system, else bundled).
"""

from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass
from pathlib import Path

ENV = "IVR_ESPEAK"
SONAME = "libespeak-ng.so.1"
NEEDED_DICTS = ("cmn_dict", "yue_dict")  # Mandarin (and Sichuanese), Cantonese
SYSTEM_DATA_DIRS = (
    "/usr/lib/x86_64-linux-gnu/espeak-ng-data", "/usr/lib/aarch64-linux-gnu/espeak-ng-data",
    "/usr/share/espeak-ng-data", "/usr/local/share/espeak-ng-data", "/usr/lib/espeak-ng-data",
    "/opt/homebrew/share/espeak-ng-data",
)
# Rate settings in voices/profiles.yaml were tuned on Debian's espeak-ng 1.51. espeak-ng 1.52 (the
# espeakng-loader wheel) speaks Mandarin faster at the same setting (measured with `ivr render` on
# its rate sample: 224.7 / 165.3 / 128.2 chars/min at rates 200 / 155 / 125, against 175.5 / 131.8
# / 105.3 on 1.51); Cantonese is unchanged. Scaling the setting keeps each mode in its target range.
RATE_FACTORS: dict[tuple[str, str], float] = {("1.52", "cmn"): 0.80}
INSTALL_HINT = ("pip install espeakng-loader (libespeak-ng with Mandarin and Cantonese voices "
                "in a wheel) or apt-get install espeak-ng")


@dataclass(frozen=True)
class Engine:
    """Where synthesis comes from; ``source`` is "system", "bundled" or "none"."""

    source: str
    library: str | None = None
    data: str | None = None  # espeak-ng-data folder for espeak_Initialize (None: built-in path)
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.source != "none"

    def describe(self) -> str:
        if not self.usable:
            return f"no espeak-ng: {self.problem}"
        where = "the espeakng-loader wheel" if self.source == "bundled" else "the system"
        return f"espeak-ng from {where} ({self.library})"


def _missing_dicts(folder: str | Path) -> list[str]:
    return [d for d in NEEDED_DICTS if not (Path(folder) / d).is_file()]


def _system() -> tuple[Engine | None, str]:
    try:
        ctypes.CDLL(SONAME, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        return None, f"system {SONAME} not loadable ({exc})"
    env_data = os.environ.get("ESPEAK_DATA_PATH")
    for folder in ([env_data] if env_data else []) + list(SYSTEM_DATA_DIRS):
        if Path(folder).is_dir() and not _missing_dicts(folder):
            return Engine("system", SONAME, None), ""
    # Loaded: the process now uses this library whatever we say; report its missing voices.
    return Engine("system", SONAME, None, problem="system espeak-ng data has no "
                  "Mandarin/Cantonese dictionaries"), ""


def _bundled() -> tuple[Engine | None, str]:
    try:
        import espeakng_loader
    except ImportError:
        return None, "the espeakng-loader package is not installed"
    lib, data = espeakng_loader.get_library_path(), None
    try:
        data = espeakng_loader.get_data_path()
    except RuntimeError as exc:
        return None, f"espeakng-loader has no voice data ({exc})"
    missing = _missing_dicts(data)
    if missing:
        return None, f"espeakng-loader's data lacks {', '.join(missing)}"
    try:
        ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        return None, f"espeakng-loader's library does not load ({exc})"
    return Engine("bundled", lib, data), ""


@functools.lru_cache(maxsize=1)
def engine() -> Engine:
    """Find (and load, once per process) the library; call before importing pyttsx3's driver."""
    choice = os.environ.get(ENV, "auto").strip().lower() or "auto"
    finders = {"system": (_system,), "bundled": (_bundled,)}.get(choice, (_system, _bundled))
    problems = []
    for find in finders:
        found, why = find()
        if found is not None:
            return found
        problems.append(why)
    return Engine("none", problem="; ".join(problems))


def initialize_path(found: Engine) -> bytes | None:
    """The ``path`` argument of espeak_Initialize: the bundled data, else the built-in one."""
    return found.data.encode() if found.data else None


def status_line() -> str | None:
    """One terminal line when prompts cannot be rendered (None when they can)."""
    found = engine()
    if found.usable and not found.problem:
        return None
    reason = found.problem or "unknown"
    return (f"prompt audio: cannot render ({reason}); callers hear Twilio <Say> instead. "
            f"To render real prompts: {INSTALL_HINT}")


def rate_for(version: str, voice: str, rate: int) -> int:
    """The espeak-ng rate setting that gives ``rate``'s speed as tuned on espeak-ng 1.51."""
    major_minor = ".".join(version.split(".")[:2])
    return max(80, round(rate * RATE_FACTORS.get((major_minor, voice), 1.0)))
