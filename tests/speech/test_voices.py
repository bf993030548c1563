"""VoiceCatalog, voice profiles and Chinese numbers: what the flow and webhooks rely on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from ivr.config.errors import ConfigError
from ivr.config.voice_profiles import MODES, VoiceProfiles, load_profiles, next_slower
from ivr.speech.numbers import chinese_number, read_digits
from ivr.speech.voices import VoiceCatalog, fragment_texts

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def profiles() -> VoiceProfiles:
    return load_profiles(REPO / "voices" / "profiles.yaml")


@pytest.fixture
def catalog(tmp_path, profiles):
    cat = VoiceCatalog(tmp_path / "voices", profiles, workers=1)
    yield cat
    cat.close()


def wait_idle(cat: VoiceCatalog, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while cat.pending_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cat.pending_count() == 0


# ---------------------------------------------------------------- profiles


def test_repo_profiles_resolve_dialects_and_fallback(profiles):
    assert profiles.profile("mandarin", "elder").voice == "cmn"
    assert profiles.profile("cantonese", "elder").voice == "yue"
    sichuan = profiles.profile("sichuanese", "elder")
    assert sichuan.voice == "cmn" and sichuan.rate == profiles.profile("mandarin", "elder").rate
    assert profiles.profile("hakka", "normal").voice == "cmn"  # unknown dialect -> fallback
    for d in profiles.dialects:
        rates = [profiles.profile(d, m).rate for m in MODES]
        assert rates == sorted(rates, reverse=True)


def test_next_slower_steps_down_and_stops_at_slowest():
    assert next_slower("normal") == "elder"
    assert next_slower("elder") == "elder_slower"
    assert next_slower("elder_slower") == "elder_slower"
    with pytest.raises(ValueError):
        next_slower("fast")


def test_profiles_refuse_typos_and_wrong_order(tmp_path):
    good = yaml.safe_load((REPO / "voices" / "profiles.yaml").read_text(encoding="utf-8"))
    bad = yaml.safe_load(yaml.safe_dump(good))
    bad["dialects"]["mandarin"]["modes"]["elder"]["rat"] = 100
    bad["dialects"]["cantonese"]["modes"]["elder_slower"]["rate"] = 300
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_profiles(path)
    keys = {p.key for p in err.value.problems}
    assert "dialects.mandarin.modes.elder.rat" in keys
    assert "dialects.cantonese" in keys  # rates must fall normal -> elder -> elder_slower
    assert all(p.file == str(path) for p in err.value.problems)


def test_fallback_dialect_must_be_complete():
    with pytest.raises(ValueError, match="fallback"):
        VoiceProfiles.model_validate({"fallback_dialect": "mandarin",
                                      "dialects": {"cantonese": {"voice": "yue"}}})


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(("n", "text"), [
    (0, "零"), (7, "七"), (10, "十"), (12, "十二"), (20, "二十"), (99, "九十九"),
    (100, "一百"), (101, "一百零一"), (110, "一百一十"), (205, "二百零五"),
    (1001, "一千零一"), (1010, "一千零一十"), (9999, "九千九百九十九"), (12000, "一万二千"),
])
def test_chinese_number_reading(n, text):
    assert chinese_number(n) == text


def test_counting_form_uses_liang():
    assert chinese_number(2, counting=True) == "两"
    assert chinese_number(12, counting=True) == "十二"
    assert chinese_number(200, counting=True) == "两百"
    assert read_digits("95588") == "九五五八八"
    with pytest.raises(ValueError):
        chinese_number(-1)


# ---------------------------------------------------------------- catalog


def test_playable_never_waits_and_renders_in_background(catalog):
    text = "您好，这里是测试提示。"
    started = time.perf_counter()
    first = catalog.playable(text, "mandarin", "elder")
    assert time.perf_counter() - started < 0.05  # no synthesis on the caller's thread
    assert first.url is None and first.text == text
    wait_idle(catalog)
    second = catalog.playable(text, "mandarin", "elder")
    name = catalog.name_for(text, "mandarin", "elder")
    assert second.url == f"/audio/{name}"
    assert (catalog.cache_dir / name).is_file()


def test_modes_and_dialects_get_their_own_audio(catalog):
    text = "请按零。"
    catalog.render_all([(text, "mandarin"), (text, "cantonese"), (text, "sichuanese")],
                       fragments=False)
    names = {catalog.name_for(text, d, m) for d in ("mandarin", "cantonese") for m in MODES}
    assert len(names) == 6
    # sichuanese speaks with mandarin's voice and settings: the same file, rendered once
    assert catalog.name_for(text, "sichuanese", "elder") == catalog.name_for(text, "mandarin",
                                                                              "elder")


def test_queue_prompt_is_composed_from_prerendered_fragments(catalog):
    report = catalog.render_all([], modes=["elder"])
    assert report.failed == 0 and report.rendered >= len(fragment_texts())
    parts = catalog.playables_for(["您前面还有", "12", "位"], "mandarin", "elder")
    assert [p.text for p in parts] == ["您前面还有", "十二", "位"]
    assert all(p.url for p in parts)
    two = catalog.playables_for(["您前面还有", "2", "位"], "cantonese", "elder")
    assert two[1].text == "两" and two[1].url


def test_speech_seconds_estimates_then_measures(catalog):
    text = "查询账户余额，请按一。"
    estimate = catalog.speech_seconds(text, "mandarin", "elder")
    assert estimate == pytest.approx(9 * 60 / 130, rel=0.01)  # 9 characters at the target mid
    catalog.render_all([(text, "mandarin")], modes=["elder"], fragments=False)
    measured = catalog.speech_seconds(text, "mandarin", "elder")
    assert 3.0 < measured < 6.0
    assert catalog.speech_seconds(text, "mandarin", "elder_slower") > estimate


def test_measured_rates_are_stored_and_used(catalog, profiles):
    rates = {(p.dialect, p.mode): cpm for p, cpm in catalog.measure_rates()}
    assert 120 <= rates[("mandarin", "elder")] <= 140
    assert rates[("mandarin", "normal")] > rates[("mandarin", "elder")] > rates[
        ("mandarin", "elder_slower")]
    again = VoiceCatalog(catalog.voices_dir, profiles, workers=1)
    try:
        assert again.rate_of(profiles.profile("mandarin", "elder")) == pytest.approx(
            rates[("mandarin", "elder")], abs=0.1)
    finally:
        again.close()


def test_start_background_renders_missing_prompts(catalog):
    catalog.start_background([("欢迎致电。", "mandarin")], fragments=False)
    wait_idle(catalog)
    assert all(catalog.playable("欢迎致电。", "mandarin", m).url for m in MODES)
