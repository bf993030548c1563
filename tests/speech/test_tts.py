"""Renderer tests with real espeak-ng audio: format, rate, cache behaviour, loudness."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ivr.config.voice_profiles import VoiceProfile
from ivr.speech import codec
from ivr.speech.tts import Renderer, audio_seconds, chars_per_minute
from ivr.speech.voice_cache import cache_key, engine_version

TEXT = "您好，欢迎致电客户服务热线。如需人工服务，请按零。"


def profile(rate: int = 155, voice: str = "cmn", volume: float = 1.0, pause_ms: int = 500):
    return VoiceProfile(dialect="mandarin", mode="elder", voice=voice, rate=rate, volume=volume,
                        pause_ms=pause_ms, target_cpm=(120, 140))


@pytest.fixture(scope="module")
def renderer(tmp_path_factory):
    r = Renderer(tmp_path_factory.mktemp("voice-cache"), workers=2)
    yield r
    r.close()


def render(renderer: Renderer, text: str, prof: VoiceProfile):
    result = renderer.submit(text, prof).result(timeout=60)
    assert result.error is None
    return result


def test_output_is_8khz_mono_mulaw_wav(renderer):
    path = render(renderer, TEXT, profile()).path
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE"
    fmt = raw[raw.index(b"fmt ") + 8 :]
    assert int.from_bytes(fmt[0:2], "little") == 7  # WAVE_FORMAT_MULAW
    assert int.from_bytes(fmt[2:4], "little") == 1  # mono
    assert int.from_bytes(fmt[4:8], "little") == 8000
    assert int.from_bytes(fmt[14:16], "little") == 8
    pcm, rate = codec.read_wav_mono16(path)
    assert rate == 8000 and len(pcm) > 8000 * 2  # more than a second of speech
    assert path.name == cache_key(TEXT, profile(), engine_version()) + ".wav"


def test_duration_grows_as_rate_falls(renderer):
    durations = [audio_seconds(render(renderer, TEXT, profile(rate)).path)
                 for rate in (200, 155, 125)]
    assert durations[0] < durations[1] < durations[2]
    assert durations[2] > durations[0] * 1.3


def test_mandarin_elder_rate_is_in_comfort_zone(renderer):
    cpm = chars_per_minute(TEXT, audio_seconds(render(renderer, TEXT, profile(155)).path))
    assert 120 <= cpm <= 140, cpm


def test_cache_hit_does_not_render_again(renderer):
    text = "请按一查询余额。"
    first = render(renderer, text, profile())
    assert first.rendered
    mtime = os.stat(first.path).st_mtime_ns
    before = renderer.rendered
    second = render(renderer, text, profile())
    assert not second.rendered and second.path == first.path
    assert renderer.rendered == before
    assert os.stat(first.path).st_mtime_ns == mtime


def test_changed_text_or_profile_renders_again(renderer):
    a = render(renderer, "请按二挂失银行卡。", profile())
    b = render(renderer, "请按三挂失银行卡。", profile())
    c = render(renderer, "请按二挂失银行卡。", profile(rate=125))
    assert b.rendered and c.rendered
    assert len({a.path, b.path, c.path}) == 3


def test_lines_are_joined_with_the_profile_pause(renderer):
    text = "查询余额，请按一。\n人工服务，请按零。"
    short = audio_seconds(render(renderer, text, profile(pause_ms=200)).path)
    long = audio_seconds(render(renderer, text, profile(pause_ms=1200)).path)
    assert long - short == pytest.approx(1.0, abs=0.05)


def test_loudness_is_normalised_and_volume_scales_it(renderer):
    def rms(path):
        pcm, _ = codec.read_wav_mono16(path)
        x = np.frombuffer(pcm, "<i2").astype(float) / 32768
        frames = x[: x.size // 160 * 160].reshape(-1, 160)
        level = np.sqrt((frames**2).mean(axis=1))
        return float(np.sqrt((level[level > 0.01] ** 2).mean())), float(np.abs(x).max())

    cmn, cmn_peak = rms(render(renderer, TEXT, profile(voice="cmn")).path)
    yue, yue_peak = rms(render(renderer, TEXT, profile(voice="yue", rate=105)).path)
    quiet, _ = rms(render(renderer, TEXT, profile(volume=0.5)).path)
    assert max(cmn_peak, yue_peak) < 0.95
    assert abs(20 * np.log10(cmn / yue)) < 3  # two voices within 3 dB
    assert 0.4 < quiet / cmn < 0.7  # full volume may be held back by the peak limit


def test_render_many_counts_rendered_skipped_and_duplicates(renderer):
    items = [(f"第{i}项。", profile()) for i in "一二三"]
    first = renderer.render_many(items + items[:1])  # a duplicate is skipped, not rendered twice
    assert (first.rendered, first.skipped, first.failed) == (3, 1, 0)
    again = renderer.render_many(items)
    assert (again.rendered, again.skipped) == (0, 3)


def test_unknown_voice_is_reported_not_raised(renderer):
    result = renderer.submit("你好", profile(voice="no-such-voice")).result(timeout=60)
    assert result.error and not result.path.exists()
