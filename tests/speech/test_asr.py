"""The real Vosk engine with the real Korean model, fed 20 ms 8 kHz mu-law frames like a call."""

from __future__ import annotations

import threading
import time

import pytest

from ivr.speech import codec
from ivr.speech.asr import SpeechService
from ivr.speech.recognizer import StreamRecognizer, Transcript, fit_grammar

from .conftest import MENU


def _frames(ulaw: bytes) -> list[bytes]:
    return codec.ulaw_frames(ulaw)


def test_grammar_restricted_recognition_frame_by_frame(ko_model, say_ulaw):
    rec = StreamRecognizer(ko_model, MENU)
    results = [r for f in _frames(say_ulaw("상담원 연결")) if (r := rec.accept_ulaw(f))]
    finals = [r.text for r in results if r.final]
    assert finals == ["상담원 연결"]  # closed by Vosk's own endpointing, before finish()
    assert any(not r.final for r in results)  # partial results came first
    assert rec.finish() is None


def test_free_form_does_not_force_the_menu_phrase(ko_model, say_ulaw):
    rec = StreamRecognizer(ko_model, None)
    results = [r for f in _frames(say_ulaw("상담원 연결")) if (r := rec.accept_ulaw(f))]
    results.append(rec.finish())
    finals = [r.text for r in results if r and r.final]
    assert finals  # it hears words ...
    assert "상담원 연결" not in finals  # ... but not this synthetic phrase without the grammar


def test_fit_grammar_keeps_known_words_and_drops_unknown(ko_model):
    assert fit_grammar(ko_model, ["상담원 연결", "[unk]", "qqqzzz"]) == ["상담원 연결"]
    assert fit_grammar(ko_model, ["상담원연결"]) == ["상담원 연결"]  # segmented by the vocabulary


def test_set_grammar_waits_for_the_end_of_an_utterance(ko_model, say_ulaw):
    rec = StreamRecognizer(ko_model, ["잔액 조회", "카드 분실"])
    frames = _frames(say_ulaw("상담원 연결"))
    heard = False
    for f in frames:
        rec.accept_ulaw(f)
        if rec.in_utterance:
            heard = True
            assert rec.set_grammar(MENU) is False  # never mid-utterance (Vosk would abort)
            break
    assert heard
    rec.finish()
    assert rec.set_grammar(MENU) is True
    finals = [r.text for f in frames if (r := rec.accept_ulaw(f)) and r.final]
    assert finals == ["상담원 연결"]


def test_service_session_grammar_provider_and_parallel_free_form(speech_pool, ko_model_dir,
                                                                 say_ulaw):
    menus = {"CA1": ["잔액 조회", "카드 분실"]}
    got: list[tuple] = []
    service = SpeechService({"mandarin": ko_model_dir}, grammar_for=menus.get, free_form=True,
                            pool=speech_pool, grammar_poll_s=0.05)
    session = service.open("CA1", lambda *a: got.append(a), dialect="sichuanese")
    session.feed(say_ulaw("카드 분실"), block=True)
    time.sleep(0.3)
    menus["CA1"] = MENU  # the menu changed: applies from the next utterance
    session.feed(b"\xff" * 1600, block=True)
    time.sleep(0.3)
    session.feed(say_ulaw("상담원 연결"), block=True)
    service.close(session)
    restricted = [t for (sid, t, final, r) in got if final and r]
    free = [t for (sid, t, final, r) in got if final and not r]
    assert restricted[-1] == "상담원 연결"
    assert free and all(sid == "CA1" for sid, *_ in got)
    assert service.stats.sessions_opened == 1 and service.stats.sessions_active == 0
    assert session.dropped == 0


def test_no_model_disables_speech_with_one_log_line(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="ivr.speech.asr"):
        service = SpeechService({"mandarin": tmp_path / "absent"})
    assert service.enabled is False
    assert service.open("CA1", lambda *a: None) is None
    lines = [r for r in caplog.records if "speech recognition disabled" in r.getMessage()]
    assert len(lines) == 1


def test_slow_decoder_drops_and_counts_frames_instead_of_blocking(speech_pool, ko_model_dir):
    release = threading.Event()
    service = SpeechService({"mandarin": ko_model_dir}, pool=speech_pool, queue_frames=5,
                            grammar_for=lambda sid: (release.wait(5), MENU)[1])
    session = service.open("CA2", lambda *a: None)
    started = time.monotonic()
    session.feed(b"\xff" * 160 * 50)  # the grammar lane is stuck in grammar_for
    assert time.monotonic() - started < 0.5  # the socket thread never waits
    release.set()
    service.close(session)
    assert session.dropped >= 40
    assert service.stats.frames_dropped == session.dropped


@pytest.mark.slow
def test_real_recorded_speech_decodes_through_the_phone_path(speech_pool, ko_model_dir,
                                                             shared_audio):
    """Real English speech through 8 kHz mu-law: the engine decodes real audio into words
    (the Korean model cannot be accurate on English; accuracy is the benchmark's job)."""
    pcm, rate = codec.read_wav_mono16(shared_audio / "en_vosk_api_test_digits.wav")
    ulaw = codec.to_telephone_ulaw(pcm, rate)
    ulaw += b"\xff" * (-len(ulaw) % codec.FRAME_BYTES)
    got: list[Transcript] = []
    service = SpeechService({"x": ko_model_dir}, default_dialect="x", pool=speech_pool)
    session = service.open("CA3", lambda sid, text, final, r: got.append(Transcript(text, final)))
    session.feed(ulaw, block=True)
    service.close(session)
    finals = [t.text for t in got if t.final]
    assert len(finals) >= 1 and all(finals)
    assert sum(len(t.split()) for t in finals) >= 3
    assert any(not t.final for t in got)
