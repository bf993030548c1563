"""Hand recognised speech to the sink on worker threads, so decoding never waits on Redis or REST.

Why: the sink (the speech actions) reads the call's session from Redis, may write a scam note and
redirects the live call through Twilio's REST API; on the decoder thread a slow REST answer held
up the decoding of every frame behind it. Here the decoder only puts an event on a queue.

Events of one call go to one worker (by a hash of the CallSid), so a call's partials and finals
stay in order; a stalled call's worker does not hold up calls on the other workers. The queues
are bounded: when one is full the event is dropped and counted (a decoder that waits would
drop audio instead, unseen).
"""

from __future__ import annotations

import logging
import queue
import threading
import zlib

from prometheus_client import Counter

from ivr.speech.recognizer import Sink

log = logging.getLogger(__name__)

SINK_DROPPED = Counter("ivr_speech_sink_dropped_total",
                       "Recognised speech events dropped because the sink's queue was full",
                       ["final"])
_STOP = object()


class SinkWorker:
    """A sink with the sink's signature that returns at once; ``close`` drains and stops."""

    def __init__(self, sink: Sink, workers: int = 2, capacity: int = 1000,
                 name: str = "speech-sink"):
        self.sink = sink
        self.dropped = 0
        self._queues: list[queue.Queue] = [queue.Queue(capacity) for _ in range(max(1, workers))]
        self._threads = [threading.Thread(target=self._run, args=(q,), name=f"{name}-{i}",
                                          daemon=True) for i, q in enumerate(self._queues)]
        for t in self._threads:
            t.start()

    def __call__(self, call_sid: str, text: str, final: bool, restricted: bool) -> None:
        q = self._queues[zlib.crc32(call_sid.encode()) % len(self._queues)]
        try:
            q.put_nowait((call_sid, text, final, restricted))
        except queue.Full:
            self.dropped += 1
            SINK_DROPPED.labels(final=str(final).lower()).inc()
            log.warning("speech sink queue full; %s event of %s dropped",
                        "final" if final else "partial", call_sid)

    def join(self) -> None:
        """Wait until every event queued so far has been handed to the sink."""
        for q in self._queues:
            q.join()

    def close(self, timeout: float | None = 5.0) -> None:
        """Hand over what is queued, then stop the workers."""
        for q in self._queues:
            q.put(_STOP)
        for t in self._threads:
            t.join(timeout)

    def _run(self, q: queue.Queue) -> None:
        while True:
            item = q.get()
            try:
                if item is _STOP:
                    return
                self.sink(*item)
            except Exception:  # a sink error must not stop the worker for the other calls
                log.exception("speech sink failed for %s", item[0])
            finally:
                q.task_done()
