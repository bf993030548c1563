"""The voice gate on real audio: it passes speech with its first syllable, drops silence.

Recorded Mandarin speech (../shared/audio) and espeak-ng Korean, as a phone line carries them,
between seconds of line silence; both classifiers (WebRTC's VAD, energy) are checked.
"""

from __future__ import annotations

import audioop
import random

import pytest

from ivr.speech import codec
from ivr.speech.recognizer import StreamRecognizer
from ivr.speech.vad import END, EnergyClassifier, VoiceGate, webrtc_classifier
from tests.speech.conftest import MENU, ko_model, say_ulaw  # noqa: F401

CLASSIFIERS = {"energy": EnergyClassifier}
if webrtc_classifier() is not None:
    CLASSIFIERS["webrtcvad"] = webrtc_classifier


def pcm_frames(ulaw: bytes) -> list[bytes]:
    return [codec.ulaw_to_pcm16(f) for f in codec.ulaw_frames(ulaw)]


def line_noise(seconds: float, level: int = 40, seed: int = 1) -> bytes:
    """Quiet line hiss as 8 kHz mu-law (what a caller's silence really sounds like)."""
    rnd = random.Random(seed)
    n = int(seconds * codec.TELEPHONE_RATE)
    pcm = b"".join(int(rnd.gauss(0, level)).to_bytes(2, "little", signed=True) for _ in range(n))
    return codec.pcm16_to_ulaw(pcm)


def gate_all(gate: VoiceGate, frames: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for f in frames:
        out += gate.push(f)
    return out + gate.flush()


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_silence_is_not_passed(name):
    gate = VoiceGate(CLASSIFIERS[name]())
    assert gate_all(gate, pcm_frames(line_noise(5.0))) == []
    assert gate.openings == 0


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_recorded_speech_opens_the_gate_once_with_lead_in_and_closes_after(name, shared_audio):
    pcm, rate = codec.read_wav_mono16(shared_audio / "zh_aishell2_IT0011W0001.wav")
    speech = codec.to_telephone_ulaw(pcm, rate)
    speech += b"\xff" * (-len(speech) % codec.FRAME_BYTES)
    frames = pcm_frames(line_noise(3.0) + speech + line_noise(3.0, seed=2))
    gate = VoiceGate(CLASSIFIERS[name](), lead_in_ms=400, hangover_ms=800)
    out = gate_all(gate, frames)
    assert out.count(END) == gate.openings >= 1
    audio = [f for f in out if f is not END]
    speech_frames = len(speech) // codec.FRAME_BYTES
    assert len(audio) < len(frames) * 0.6  # most of the 6 s of line noise is not decoded
    assert len(audio) >= speech_frames * 0.8  # ...but the speech is
    first = frames.index(audio[0])
    loud = next(i for i, f in enumerate(frames) if audioop.rms(f, 2) > 500)
    assert first <= loud - 15  # the lead-in: >= 300 ms of audio before the first loud frame


def test_first_syllable_survives_the_gate(ko_model, say_ulaw):  # noqa: F811
    """Decoding only what the gate passes gives the same words as decoding everything."""
    clip = pcm_frames(b"\xff" * 16000 + say_ulaw("상담원 연결") + b"\xff" * 16000)
    gate = VoiceGate(CLASSIFIERS.get("webrtcvad", EnergyClassifier)())
    rec = StreamRecognizer(ko_model, MENU)
    finals = []
    for f in gate_all(gate, clip):
        result = rec.finish() if f is END else rec.accept_pcm8k(f)
        if result is not None and result.final:
            finals.append(result.text)
    assert finals == ["상담원 연결"]
    assert gate.frames_passed < len(clip) / 2


def test_without_lead_in_the_onset_is_cut(ko_model, say_ulaw):  # noqa: F811
    """Why the lead-in exists: with none, the gate's onset delay loses audio."""
    clip = pcm_frames(b"\xff" * 8000 + say_ulaw("상담원 연결") + b"\xff" * 8000)
    full = VoiceGate(EnergyClassifier(), lead_in_ms=400)
    bare = VoiceGate(EnergyClassifier(), lead_in_ms=20)
    assert len(gate_all(full, clip)) > len(gate_all(bare, clip))
