"""`python -m ivr.speech.espeak_say -v VOICE [-s RATE] -w OUT.wav TEXT`: what the `espeak-ng`
command does for tests and tools (a WAV of the text), through libespeak-ng from the system or the
espeakng-loader wheel, so a machine without Debian's espeak-ng can still make speech clips."""

from __future__ import annotations

import argparse
import ctypes
import shutil
import sys
import wave

from ivr.speech import espeak_lib


def command() -> list[str] | None:
    """The espeak-ng command when installed, else this module; None when neither can speak."""
    found = shutil.which("espeak-ng")
    if found:
        return [found]
    if espeak_lib.engine().usable:
        return [sys.executable, "-m", "ivr.speech.espeak_say"]
    return None


def synthesize(text: str, voice: str, rate: int) -> tuple[bytes, int]:
    """16-bit mono PCM of ``text`` and its sample rate (espeak-ng's own, 22.05 kHz)."""
    found = espeak_lib.engine()
    if not found.usable:
        raise RuntimeError(f"{found.problem}; {espeak_lib.INSTALL_HINT}")
    from pyttsx3.drivers import _espeak

    sample_rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 1000,
                                     espeak_lib.initialize_path(found))
    if sample_rate == -1:
        raise RuntimeError("could not initialise espeak-ng")
    chunks: list[bytes] = []

    def on_synth(wav, numsamples: int, events) -> int:
        if numsamples > 0:
            chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0

    _espeak.SetSynthCallback(on_synth)
    if _espeak.SetVoiceByName(voice.encode("utf-8")) != _espeak.EE_OK:
        raise ValueError(f"espeak-ng has no voice {voice!r}")
    _espeak.SetParameter(_espeak.RATE, rate, 0)
    if _espeak.Synth(text, flags=_espeak.CHARS_UTF8 | _espeak.ENDPAUSE) != _espeak.EE_OK:
        raise RuntimeError("espeak-ng Synth failed")
    return b"".join(chunks), sample_rate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-v", dest="voice", default="en")
    ap.add_argument("-s", dest="rate", type=int, default=175, help="words per minute")
    ap.add_argument("-w", dest="out", required=True, help="WAV file to write")
    ap.add_argument("text")
    args = ap.parse_args(argv)
    try:
        pcm, sample_rate = synthesize(args.text, args.voice, args.rate)
    except (RuntimeError, ValueError) as exc:
        print(f"espeak_say: {exc}", file=sys.stderr)
        return 1
    with wave.open(args.out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
