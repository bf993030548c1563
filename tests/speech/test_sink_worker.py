"""The speech sink runs on its own workers: a slow sink never holds up the caller of the sink."""

from __future__ import annotations

import threading
import time

from ivr.speech.sink_worker import SinkWorker


def test_a_stalled_sink_does_not_block_the_decoder_and_keeps_each_calls_order():
    release = threading.Event()
    seen: list[tuple[str, str]] = []

    def sink(call_sid: str, text: str, final: bool, restricted: bool) -> None:
        if call_sid == "CA-slow":
            release.wait(10)  # a REST redirect that hangs
        seen.append((call_sid, text))

    worker = SinkWorker(sink, workers=2)
    try:
        start = time.monotonic()
        for i in range(50):
            worker("CA-slow", f"slow {i}", i % 5 == 4, True)
        handed_over = time.monotonic() - start
        assert handed_over < 1.0  # the decoder thread went straight on
        assert [t for c, t in seen if c == "CA-slow"] == []
        release.set()
        worker.join()
        assert [t for c, t in seen if c == "CA-slow"] == [f"slow {i}" for i in range(50)]
    finally:
        release.set()
        worker.close()


def test_a_full_queue_drops_and_counts_instead_of_waiting():
    release = threading.Event()
    worker = SinkWorker(lambda *a: release.wait(10), workers=1, capacity=3)
    try:
        start = time.monotonic()
        for i in range(10):
            worker("CA1", str(i), False, False)
        assert time.monotonic() - start < 1.0
        assert worker.dropped >= 6  # one in the sink, three queued, the rest counted
    finally:
        release.set()
        worker.close()


def test_a_failing_sink_leaves_the_worker_running():
    got: list[str] = []

    def sink(call_sid: str, text: str, final: bool, restricted: bool) -> None:
        if text == "boom":
            raise RuntimeError("Redis went away")
        got.append(text)

    worker = SinkWorker(sink, workers=1)
    worker("CA1", "boom", True, True)
    worker("CA1", "after", True, True)
    worker.join()
    worker.close()
    assert got == ["after"]
