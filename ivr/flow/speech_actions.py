"""What the service does with what the caller says: menu intents and scam interceptions.

Called by the media socket for every transcript (partial and final). Intents act only on final,
grammar-restricted results, once per menu step; the scam detector hears everything, for the whole
call, queue included, and acts once per call. Actions redirect the live call through Twilio's REST
API to a signed webhook of ours, so the decision is carried out by the normal flow code.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ivr import metrics
from ivr.understanding import artifact
from ivr.understanding.decision import CallScamJudge, IntentDecider
from ivr.understanding.intents import IntentMatcher
from ivr.understanding.scam import ScamDetector

if TYPE_CHECKING:
    from ivr.config.holder import ConfigHolder
    from ivr.flow.session import SessionStore
    from ivr.routing.queue import CallQueue
    from ivr.telephony.rest import CallControl
    from ivr.understanding.audit import ScamAudit

log = logging.getLogger(__name__)

GLOBAL_INTENTS = ("human_agent", "repeat", "slower")
ROOT_INTENTS = ("elder",)
NOT_UNDERSTOOD = "unknown"  # the engine treats an intent no option has like a wrong key
MAX_TRACKED_CALLS = 10_000


class SpeechActions:
    """One per process: matchers and the detector are built once per config version."""

    def __init__(self, holder: ConfigHolder, sessions: SessionStore, calls: CallControl,
                 base_url: Callable[[], str], queue: CallQueue | None = None,
                 audit: ScamAudit | None = None):
        self.holder = holder
        self.sessions = sessions
        self.calls = calls
        self.base_url = base_url  # () -> public base URL of this service, for REST redirects
        self.queue = queue
        self.audit = audit
        self._built_for: str | None = None
        self._matchers: dict[str, IntentDecider] = {}
        self._detector: ScamDetector | None = None
        self._scam_model = None
        self._trackers: OrderedDict[str, tuple[CallScamJudge, list[str]]] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ per config version
    def _refresh(self) -> None:
        cfg = self.holder.current
        if cfg.version == self._built_for:
            return
        with self._lock:
            if cfg.version == self._built_for:
                return
            models = artifact.load()  # trained models: read once per process
            self._matchers = {d: IntentDecider(IntentMatcher(g), models.intent)
                              for d, g in cfg.grammars.items()}
            self._scam_model = models.scam
            self._detector = ScamDetector(cfg.scam)
            self._built_for = cfg.version

    def allowed_intents(self, node: str, dialect: str) -> list[str]:
        """The intents that mean something at this menu node."""
        cfg = self.holder.current
        grammar = cfg.grammars.get(dialect) or cfg.grammars[cfg.service.dialects.default]
        wanted = list(GLOBAL_INTENTS)
        if node == cfg.menus.root:
            wanted += ROOT_INTENTS
        wanted += [o.intent for o in cfg.menus.nodes[node].options if o.intent]
        return [i for i in dict.fromkeys(wanted) if i in grammar.intents]

    def grammar_for(self, call_sid: str) -> list[str] | None:
        """Vosk phrase list for the caller's current menu (None once they are with the queue)."""
        record = self.sessions.load(call_sid)
        if record is None:
            return None
        cfg = self.holder.current
        grammar = cfg.grammars.get(record.state.dialect) or cfg.grammars[
            cfg.service.dialects.default]
        if record.state.transferred:
            return grammar.vosk_phrases(["human_agent"])
        return grammar.vosk_phrases(self.allowed_intents(record.state.node, record.state.dialect))

    # ------------------------------------------------------------------ the sink
    def on_speech(self, call_sid: str, text: str, final: bool, restricted: bool) -> None:
        """Media-socket sink. Never raises: speech must not break the call."""
        text = (text or "").replace("[unk]", "").strip()
        if not text:
            return
        try:
            self._refresh()
            self._check_scam(call_sid, text, final)
            if final and restricted:
                self._act_on_intent(call_sid, text)
        except Exception:
            log.exception("speech action failed for call %s", call_sid)

    def forget(self, call_sid: str) -> None:
        with self._lock:
            self._trackers.pop(call_sid, None)

    # ------------------------------------------------------------------ intents
    def _act_on_intent(self, call_sid: str, text: str) -> None:
        record = self.sessions.load(call_sid)
        if record is None or record.state.left or record.state.transferred:
            return
        state = record.state
        matcher = self._matchers.get(state.dialect) or self._matchers[
            self.holder.current.service.dialects.default]
        match = matcher.decide(text, self.allowed_intents(state.node, state.dialect))
        intent = match.intent or NOT_UNDERSTOOD
        log.debug("call %s heard %r -> %s (%s %s)", call_sid, text, intent, match.source,
                  match.why)
        # debounce: one action per menu step. "Not understood" has its own slot, so a fragment
        # cut off by endpointing cannot use up the step before the real utterance arrives.
        slot = "unknown" if intent == NOT_UNDERSTOOD else "intent"
        if not self.sessions.claim_spoken(call_sid, state.step, slot, intent):
            return
        if intent != NOT_UNDERSTOOD:
            metrics.SPEECH_INTENTS.labels(intent).inc()
        log.info("call %s said an intent at step %d: %s (score %.2f)", call_sid, state.step,
                 intent, match.score)
        query = urlencode({"step": state.step, "intent": intent})
        self.calls.redirect(call_sid, f"{self.base_url()}/voice/menu?{query}")

    # ------------------------------------------------------------------ scam
    def _tracker(self, call_sid: str) -> tuple[CallScamJudge, list[str]]:
        with self._lock:
            item = self._trackers.get(call_sid)
            if item is None:
                assert self._detector is not None
                item = (CallScamJudge(self._detector, self._scam_model), [])
                self._trackers[call_sid] = item
                while len(self._trackers) > MAX_TRACKED_CALLS:
                    self._trackers.popitem(last=False)
            return item

    def _check_scam(self, call_sid: str, text: str, final: bool) -> None:
        tracker, heard = self._tracker(call_sid)
        result = tracker.feed(text, final=final)
        if final:
            heard.append(text)
            self._keep_transcript(call_sid, text)
        if not result.is_risk:
            return
        ttl = self.holder.current.service.retention.session_ttl_seconds
        if not self.sessions.mark_warned(call_sid, ttl):
            return  # one warning per call
        excerpt = " / ".join([*heard, text if not final else ""]).strip(" /")[-200:]
        scam = {"category": result.category, "score": round(result.score, 3),
                "matched": list(result.matched), "excerpt": excerpt,
                "probability": round(result.probability, 3), "reason": result.reason,
                "phrases": list(result.lexicon.matched), "ngrams": list(result.ngrams)}

        def note(record: Any) -> None:
            record.scam = scam

        record = self.sessions.update(call_sid, note)  # under the call's lock
        if record is None:
            return
        metrics.SCAM_INTERCEPTIONS.labels(result.category or "unknown").inc()
        if self.audit is not None:
            self.audit.record(call_sid, record.caller_masked, result.category or "unknown",
                              list(result.matched), result.score, excerpt)
        entry = self.queue.get(call_sid) if self.queue is not None else None
        if entry is not None:
            self.queue.raise_priority(call_sid, "scam", {"scam": scam,
                                                         "transcript_excerpt": excerpt})
        if record.bridged or (entry is not None and entry.state != "waiting"):
            # An agent holds this caller (maybe talking to them right now): the warning is for
            # the agent's screen; never pull the call away from them.
            log.info("call %s: scam phrase while with an agent; context annotated only",
                     call_sid)
            return
        self.calls.redirect(call_sid, f"{self.base_url()}/voice/scam-warning")

    def _keep_transcript(self, call_sid: str, text: str) -> None:
        """Final transcripts, kept only as long as the retention setting says (0 = not kept)."""
        keep = self.holder.current.service.retention.transcript_seconds
        if keep <= 0:
            return
        self.sessions.append_transcript(call_sid, f"{time.time():.1f} {text}", keep)
