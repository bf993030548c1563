"""Call-backs only to verified numbers, rate-limited; retention of queue entries, call-back
numbers and audit records; var/ files private."""

from __future__ import annotations

import os
import stat
import time

from ivr.private_files import lock_down, write_private
from ivr.routing.callback_policy import verified
from ivr.routing.queue import QueueEntry
from tests.helpers import call_params, new_call_sid, post_signed

PASSED_A = "TN-Validation-Passed-A"


def queued_caller(app, client, number: str, verstat: str | None, waited: float = 600) -> str:
    sid = new_call_sid()
    extra = {"StirVerstat": verstat} if verstat else {}
    assert post_signed(client, "/voice/incoming",
                       call_params(sid, number, **extra)).status_code == 200
    app.extensions["ivr"].queue.enqueue(QueueEntry(sid, "normal", None, time.time() - waited))
    return sid


def choose_callback(client, sid: str, number: str):
    return post_signed(client, "/voice/wait/callback",
                       call_params(sid, number, Digits="1")).get_data(as_text=True)


def test_policy():
    assert verified("+8613912345678", PASSED_A, [PASSED_A], [])
    for verstat in ("TN-Validation-Passed-B", "TN-Validation-Failed-A", "No-TN-Validation", None):
        assert not verified("+8613912345678", verstat, [PASSED_A], [])
    assert verified("+8613912345678", None, [PASSED_A], ["+86"])
    assert not verified("client:alice", PASSED_A, [PASSED_A], ["+86"])
    assert not verified("+86139", PASSED_A, [PASSED_A], [])


def test_unverified_caller_is_neither_offered_nor_given_a_call_back(app, client):
    svc = app.extensions["ivr"]
    spoofed = queued_caller(app, client, "+8613900000001", "TN-Validation-Failed-C")
    wait = post_signed(client, "/voice/wait", call_params(spoofed, "+8613900000001"))
    assert b"<Gather" not in wait.data  # no offer
    body = choose_callback(client, spoofed, "+8613900000001")  # asked anyway: refused
    assert "<Leave" not in body
    assert not svc.queue.get(spoofed).callback
    honest = queued_caller(app, client, "+8613900000002", PASSED_A)
    wait = post_signed(client, "/voice/wait", call_params(honest, "+8613900000002"))
    assert b"<Gather" in wait.data
    assert "<Leave" in choose_callback(client, honest, "+8613900000002")
    entry = svc.queue.get(honest)
    assert entry.callback and entry.callback_to == "+8613900000002"


def test_call_backs_are_rate_limited_per_number(app, client):
    svc = app.extensions["ivr"]
    limit = svc.config.current.service.callbacks.max_per_number
    number = "+8613900000003"
    got = []
    for _ in range(limit + 2):
        sid = queued_caller(app, client, number, PASSED_A)
        got.append("<Leave" in choose_callback(client, sid, number))
    assert got == [True] * limit + [False, False]
    other = queued_caller(app, client, "+8613900000004", PASSED_A)
    assert "<Leave" in choose_callback(client, other, "+8613900000004")


def test_queue_entries_and_call_back_numbers_expire(app, client, redis_client):
    svc = app.extensions["ivr"]
    retention = svc.config.current.service.retention
    q = svc.queue
    now = time.time()
    old = QueueEntry(new_call_sid(), "normal", None, now - retention.queue_entry_seconds - 5)
    fresh = QueueEntry(new_call_sid(), "elder", None, now - 30)
    q.enqueue(old)
    q.enqueue(fresh)
    ttl = redis_client.ttl(q.entry_key(fresh.call_sid))
    assert 0 < ttl <= retention.queue_entry_seconds  # the backstop TTL on the entry (context)
    cb = QueueEntry(new_call_sid(), "normal", None,
                    now - retention.callback_number_seconds - 5)
    q.enqueue(cb)
    assert q.mark_callback(cb.call_sid, "+8613900000005", "+10000000000")
    assert 0 < redis_client.ttl(q.entry_key(cb.call_sid)) <= retention.callback_number_seconds
    removed = svc.reconciler.apply_retention(now)
    assert sorted(removed) == sorted([old.call_sid, cb.call_sid])
    assert [e.call_sid for e in q.entries()] == [fresh.call_sid]
    assert q.sizes()["normal"] == 0 and q.sizes()["elder"] == 1
    assert "+8613900000005" not in str(redis_client.keys("*")) + "".join(
        str(redis_client.hgetall(k)) for k in redis_client.keys("ivr:{queue}:e:*"))


def test_audit_records_older_than_the_retention_are_trimmed(app):
    svc = app.extensions["ivr"]
    days = svc.config.current.service.retention.audit_days
    now = time.time()
    too_old = f"{int((now - days * 86400 - 60) * 1000)}-0"  # stream ids are ms times
    recent = f"{int((now - 3600) * 1000)}-0"
    for entry_id, excerpt in ((too_old, "too old"), (recent, "an hour ago")):
        svc.redis.xadd(svc.audit.stream, {"ts": "0", "call_sid": "CAx", "excerpt": excerpt},
                       id=entry_id)
    svc.audit.record(new_call_sid(), "+86139******02", "x", ["a"], 2.0, "new", now=now)
    kept = [e.excerpt for e in svc.audit.recent(10)]
    assert kept == ["new", "an hour ago"]  # the record past the retention is gone


def test_var_files_are_private(tmp_path):
    var = tmp_path / "var"
    (var / "redis").mkdir(parents=True)
    leaked = var / "redis" / "ivr.rdb"
    leaked.write_text("numbers")
    os.chmod(leaked, 0o644)
    os.chmod(var, 0o755)
    assert lock_down(var) == 1
    assert stat.S_IMODE(leaked.stat().st_mode) == 0o600
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE((var / "redis").stat().st_mode) == 0o700
    write_private(var / "config-last-good.json", "{}")
    assert stat.S_IMODE((var / "config-last-good.json").stat().st_mode) == 0o600


def test_the_config_snapshot_with_password_hashes_is_private(app):
    snapshot = app.extensions["ivr"].settings.var_dir / "config-last-good.json"
    assert snapshot.exists() and "scrypt:" in snapshot.read_text()
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
