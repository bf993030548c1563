"""Names of rendered prompts: sha256 of the text, the audio-relevant profile fields and the engine.

A changed text, rate, voice or engine version gives a new name, so stale audio is never served and
unchanged prompts are never rendered twice. The name is also the ETag: its bytes never change.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from importlib import metadata
from pathlib import Path

from ivr.config.voice_profiles import VoiceProfile

# Bump when the audio pipeline (trimming, filtering, normalisation, format) changes.
PIPELINE_VERSION = "ulaw8k-v1"
NAME_RE = re.compile(r"^[0-9a-f]{64}\.wav$")
CACHE_SUBDIR = "cache"


@functools.lru_cache(maxsize=1)
def engine_version() -> str:
    """espeak-ng library version and pyttsx3 version, read once per process."""
    try:
        from ivr.speech import espeak_lib

        if not espeak_lib.engine().usable:  # finds the system or the bundled library
            raise RuntimeError("no espeak-ng")
        from pyttsx3.drivers import _espeak  # loads libespeak-ng; does not initialise it

        espeak = _espeak.Info(None).decode()
    except Exception:  # noqa: BLE001 - no engine here: names still need to be stable
        espeak = "unknown"
    try:
        driver = metadata.version("pyttsx3")
    except metadata.PackageNotFoundError:
        driver = "unknown"
    from ivr.speech.espeak_lib import RATE_FACTORS

    scaled = [f"{voice} rate x{factor:g}" for (version, voice), factor in
              sorted(RATE_FACTORS.items()) if espeak.startswith(version + ".")]
    return f"espeak-ng {espeak}; pyttsx3 {driver}" + (f" ({', '.join(scaled)})" if scaled else "")


def cache_key(text: str, profile: VoiceProfile, engine: str | None = None) -> str:
    """Hex sha256 naming one rendering of ``text`` with ``profile``."""
    payload = {
        "text": text,
        **profile.audio_fields(),
        "engine": engine if engine is not None else engine_version(),
        "pipeline": PIPELINE_VERSION,
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def file_name(text: str, profile: VoiceProfile, engine: str | None = None) -> str:
    return cache_key(text, profile, engine) + ".wav"


def cache_dir(voices_dir: str | Path) -> Path:
    """Where rendered audio lives (git-ignored)."""
    return Path(voices_dir) / CACHE_SUBDIR


def is_valid_name(name: str) -> bool:
    """Only names we could have produced; anything else never reaches the filesystem."""
    return bool(NAME_RE.fullmatch(name))
