"""Voice-activity gate: decode only what may be speech, keeping the first syllable.

Callers mostly listen (prompts, hold music, queue), so most of a stream is silence or line
noise; feeding all of it to Vosk is what limited a box to ~15 streams. The gate passes a frame
run only once voice starts, prefixed with a ``lead_in`` of the frames just before (so the onset
the classifier needed a frame or two to notice is still decoded), and keeps passing for
``hangover`` after the last voiced frame (so pauses inside an utterance and Vosk's own endpoint
silence go through). When the gate closes it yields ``END``: the decoder closes the utterance
there instead of waiting for more audio.

Pure logic: 8 kHz 16-bit PCM frames of 20 ms in, frames (and ``END``) out. The classifier is
WebRTC's VAD when ``webrtcvad`` is installed, else an energy threshold over a tracked noise floor.
"""

from __future__ import annotations

import audioop
from collections import deque
from collections.abc import Callable

from ivr.speech.codec import FRAME_MS, TELEPHONE_RATE

END = b""  # marker yielded when a voiced run is over (an empty frame is never audio)

Classifier = Callable[[bytes], bool]


class EnergyClassifier:
    """Voiced when the frame's RMS is well above a slowly tracked noise floor."""

    def __init__(self, min_rms: int = 250, ratio: float = 3.0):
        self.min_rms = min_rms
        self.ratio = ratio
        self.floor = float(min_rms) / ratio

    def __call__(self, pcm: bytes) -> bool:
        rms = audioop.rms(pcm, 2)
        voiced = rms >= max(self.min_rms, self.floor * self.ratio)
        if not voiced:  # follow the line's noise, slowly, only from unvoiced frames
            self.floor = 0.95 * self.floor + 0.05 * rms
        return voiced


def webrtc_classifier(mode: int = 2, min_rms: int = 150) -> Classifier | None:
    """WebRTC VAD at 8 kHz (None when the package is not installed).

    Frames quieter than ``min_rms`` are never voice: the VAD calls a few frames of faint line
    hiss speech while its noise model adapts at the start of a stream.
    """
    try:
        import webrtcvad
    except ImportError:
        return None
    vad = webrtcvad.Vad(mode)

    def classify(pcm: bytes) -> bool:
        return audioop.rms(pcm, 2) >= min_rms and vad.is_speech(pcm, TELEPHONE_RATE)

    return classify


def default_classifier() -> tuple[str, Classifier]:
    """(name, classifier): WebRTC's VAD if available, else energy."""
    webrtc = webrtc_classifier()
    if webrtc is not None:
        return "webrtcvad", webrtc
    return "energy", EnergyClassifier()


class VoiceGate:
    """Per-call gate; ``push`` returns the frames to decode now (possibly followed by END).

    ``onset`` voiced frames within the last ``onset_window`` open the gate, which filters clicks
    and single noisy frames; everything in the lead-in buffer is released with the opening frame.
    """

    def __init__(self, classifier: Classifier | None = None, lead_in_ms: int = 400,
                 hangover_ms: int = 800, onset: int = 2, onset_window: int = 3):
        self.classify = classifier or default_classifier()[1]
        self.lead_in = deque(maxlen=max(1, lead_in_ms // FRAME_MS))
        self.hangover_frames = max(1, hangover_ms // FRAME_MS)
        self.onset = onset
        self.recent: deque[bool] = deque(maxlen=onset_window)
        self.open = False
        self._quiet = 0
        self.frames_in = 0
        self.frames_passed = 0
        self.openings = 0

    def push(self, pcm: bytes) -> list[bytes]:
        self.frames_in += 1
        voiced = self.classify(pcm)
        self.recent.append(voiced)
        if self.open:
            self._quiet = 0 if voiced else self._quiet + 1
            if self._quiet >= self.hangover_frames:
                self.open = False
                self.recent.clear()
                self.lead_in.clear()
                self.frames_passed += 1
                return [pcm, END]
            self.frames_passed += 1
            return [pcm]
        self.lead_in.append(pcm)
        if sum(self.recent) < self.onset:
            return []
        self.open = True
        self.openings += 1
        self._quiet = 0
        out = list(self.lead_in)
        self.lead_in.clear()
        self.frames_passed += len(out)
        return out

    def flush(self) -> list[bytes]:
        """End of stream: close an open run so its utterance is finished."""
        if not self.open:
            return []
        self.open = False
        return [END]

    @property
    def passed_ratio(self) -> float:
        return self.frames_passed / self.frames_in if self.frames_in else 0.0
