"""Prompts render without the Debian espeak-ng package: pyttsx3's espeak driver served by the
libespeak-ng bundled in the espeakng-loader wheel; with neither, one line says what to install.

Each case runs in a fresh process: the library choice is made once per process (IVR_ESPEAK forces
it, so the system library is never loaded there, as on a machine without it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import REPO

RENDER = textwrap.dedent("""
    import json, sys, tempfile
    from ivr.speech import espeak_lib
    from ivr.speech.tts import Renderer
    from ivr.speech.voice_cache import engine_version
    from ivr.config.voice_profiles import VoiceProfile

    def profile(dialect, voice):
        return VoiceProfile(dialect=dialect, mode="normal", voice=voice, rate=170, volume=1.0,
                            pause_ms=500, target_cpm=(160, 200))

    if __name__ == "__main__":
        out = {"engine": espeak_lib.engine().source, "version": engine_version(),
               "status": espeak_lib.status_line(), "results": []}
        with Renderer(tempfile.mkdtemp(), workers=1) as r:
            for dialect, voice in (("mandarin", "cmn"), ("cantonese", "yue")):
                res = r.submit("您好，长青银行。人工请按0。", profile(dialect, voice)).result(60)
                out["results"].append([res.rendered, res.audio_seconds, res.error])
        print(json.dumps(out))
""")


def run(tmp_path, env_extra, pythonpath_first=None):
    script = tmp_path / "render_probe.py"
    script.write_text(RENDER, encoding="utf-8")
    env = {**os.environ, **env_extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pythonpath_first, str(REPO)) if p)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bundled_library_renders_mandarin_and_cantonese(tmp_path):
    pytest.importorskip("espeakng_loader")
    out = run(tmp_path, {"IVR_ESPEAK": "bundled"})
    assert out["engine"] == "bundled" and out["status"] is None
    assert "espeak-ng unknown" not in out["version"]
    for rendered, seconds, error in out["results"]:
        assert error is None and rendered
        assert 1.5 < seconds < 8  # real speech of 13 characters, not silence or a stub


def test_without_any_library_one_line_says_what_to_install(tmp_path):
    blocker = tmp_path / "block"
    (blocker / "espeakng_loader").mkdir(parents=True)
    (blocker / "espeakng_loader" / "__init__.py").write_text(
        "raise ImportError('not installed here')\n")
    out = run(tmp_path, {"IVR_ESPEAK": "bundled"}, pythonpath_first=str(blocker))
    assert out["engine"] == "none"
    assert "pip install espeakng-loader" in out["status"] and "\n" not in out["status"]
    for rendered, _seconds, error in out["results"]:
        assert not rendered and "pip install espeakng-loader" in error  # no worker crash


def test_render_command_prints_the_line_and_fails(tmp_path):
    blocker = tmp_path / "block"
    (blocker / "espeakng_loader").mkdir(parents=True)
    (blocker / "espeakng_loader" / "__init__.py").write_text("raise ImportError('no')\n")
    env = {**os.environ, "IVR_ESPEAK": "bundled", "IVR_ROOT": str(REPO),
           "IVR_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "300",
           "PYTHONPATH": os.pathsep.join((str(blocker), str(REPO)))}
    done = subprocess.run([sys.executable, "-m", "ivr", "render", "--no-rates"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "prompt audio: cannot render" in done.stdout and "Traceback" not in done.stderr


def test_rate_setting_is_scaled_only_where_the_engine_speaks_faster():
    from ivr.speech.espeak_lib import rate_for

    assert rate_for("1.51", "cmn", 155) == 155
    assert rate_for("1.52.0", "cmn", 155) < 155  # 1.52 speaks Mandarin ~1.25x faster
    assert rate_for("1.52.0", "yue", 105) == 105


def test_speech_clips_without_the_espeak_command(tmp_path):
    """Tests that make Korean clips run where only the bundled library exists."""
    pytest.importorskip("espeakng_loader")
    import wave

    out = tmp_path / "ko.wav"
    env = {**os.environ, "IVR_ESPEAK": "bundled", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "ivr.speech.espeak_say", "-v", "ko", "-w",
                           str(out), "상담원 연결"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    with wave.open(str(out)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        assert 0.8 < w.getnframes() / w.getframerate() < 4  # two Korean words of speech
