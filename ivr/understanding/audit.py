"""Audit trail of scam interceptions (Redis I/O): one stream entry and one log line per hit.

Why a stream: it is append-only, ordered, capped (MAXLEN ~) and readable by any worker, so an
auditor can see every interception with its time, CallSid, masked number, category and phrases.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass

from ivr.privacy import mask_number

STREAM = "ivr:audit:scam"
log = logging.getLogger("ivr.audit")
_FULL_NUMBER = re.compile(r"\d{7,}")


@dataclass(frozen=True)
class AuditEntry:
    id: str
    ts: float
    call_sid: str
    caller: str
    category: str
    matched: list[str]
    score: float
    excerpt: str


class ScamAudit:
    def __init__(self, redis, stream: str = STREAM, maxlen: int = 100_000,
                 excerpt_chars: int = 200, retention_days=lambda: 0) -> None:
        """``retention_days``: () -> days records are kept (config ``retention.audit_days``);
        older ones are trimmed on each new record (0 = only ``maxlen`` applies)."""
        self.redis = redis
        self.retention_days = retention_days
        self.stream = stream
        self.maxlen = maxlen
        self.excerpt_chars = excerpt_chars

    def record(self, call_sid: str, masked_number: str, category: str, matched: list[str],
               score: float, excerpt: str, now: float | None = None) -> str:
        """Append one interception; a number that arrives unmasked is masked here."""
        caller = masked_number or "unknown"
        if _FULL_NUMBER.search(caller):
            caller = mask_number(caller)
        ts = time.time() if now is None else float(now)
        fields = {
            "ts": f"{ts:.3f}", "call_sid": call_sid, "caller": caller, "category": category,
            "matched": json.dumps(list(matched), ensure_ascii=False), "score": f"{score:.4f}",
            "excerpt": (excerpt or "")[-self.excerpt_chars:],
        }
        entry_id = self.redis.xadd(self.stream, fields, maxlen=self.maxlen, approximate=True)
        days = int(self.retention_days() or 0)
        if days > 0:  # stream ids are millisecond times: trim everything older than the limit
            self.redis.xtrim(self.stream, minid=f"{int((ts - days * 86400) * 1000)}-0",
                             approximate=False)
        log.warning("scam interception call=%s caller=%s category=%s score=%.2f phrases=%s",
                    call_sid, caller, category, score, ",".join(matched))
        return entry_id if isinstance(entry_id, str) else entry_id.decode()

    def recent(self, n: int = 50) -> list[AuditEntry]:
        """Newest first."""
        out = []
        for entry_id, f in self.redis.xrevrange(self.stream, count=n):
            f = {_s(k): _s(v) for k, v in f.items()}
            out.append(AuditEntry(
                id=_s(entry_id), ts=float(f.get("ts", 0)), call_sid=f.get("call_sid", ""),
                caller=f.get("caller", ""), category=f.get("category", ""),
                matched=json.loads(f.get("matched") or "[]"), score=float(f.get("score", 0)),
                excerpt=f.get("excerpt", ""),
            ))
        return out


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
