"""Prometheus metrics, defined once per process (module level, as prometheus-client expects)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLS = Counter("ivr_calls_total", "Incoming calls answered", ["dialect", "elder"])
TRANSFERS = Counter("ivr_transfers_total", "Transfers to the human queue", ["reason"])
FAILSAFE = Counter("ivr_failsafe_total", "Webhooks answered by the failsafe (error or outage)")
WEBHOOK_REJECTED = Counter("ivr_webhook_rejected_total", "Webhooks refused", ["why"])
SCAM_INTERCEPTIONS = Counter(
    "ivr_scam_interceptions_total", "Scam-risk interceptions", ["category"]
)
SPEECH_INTENTS = Counter("ivr_speech_intents_total", "Intents acted on from speech", ["intent"])
QUEUE_LENGTH = Gauge("ivr_queue_length", "Callers waiting, by priority class", ["priority"])
ABANDONED = Counter("ivr_abandoned_total", "Callers who hung up while waiting")
WAIT_SECONDS = Histogram(
    "ivr_wait_seconds", "Seconds a caller waited in the queue before an agent accepted",
    buckets=(5, 10, 20, 30, 60, 120, 300, 600, 1200),
)
SECONDS_TO_AGENT = Histogram(
    "ivr_seconds_to_agent", "Seconds from call start to an agent accepting",
    buckets=(5, 10, 20, 30, 60, 120, 300, 600, 1200),
)
ANSWERED = Counter("ivr_answered_total", "Queued callers bridged to an agent", ["priority"])
CALLBACKS = Counter(
    "ivr_callbacks_total", "Call-backs: requested by a waiting caller, placed, failed", ["event"]
)
HANDLING_SECONDS = Histogram(
    "ivr_handling_seconds", "Seconds an agent spent on a caller, accept to finish",
    buckets=(30, 60, 120, 180, 300, 600, 900, 1800, 3600),
)
RECOVERED = Counter(
    "ivr_recovered_total", "Lost state rebuilt: a session from a webhook, a queue entry from a "
    "wait poll or from the reconciler", ["source"],
)
RECONCILE_RUNS = Counter("ivr_reconcile_runs_total", "Reconciler passes, by result", ["result"])
RECONCILED = Counter(
    "ivr_reconciled_total", "Twilio queue members found missing in Redis and added back"
)
GHOSTS_REMOVED = Counter(
    "ivr_ghosts_removed_total", "Redis entries of callers no longer in Twilio's queue, closed"
)
QUEUE_GAP = Gauge(
    "ivr_queue_size_gap", "Twilio queue members minus waiting Redis entries, last reconcile"
)
REST_ERRORS = Counter("ivr_rest_errors_total", "Twilio REST failures, by class", ["kind"])
