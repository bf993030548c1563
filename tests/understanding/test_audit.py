import logging

from ivr.understanding.audit import STREAM, ScamAudit


def test_record_writes_stream_entry_and_log(redis_client, caplog):
    audit = ScamAudit(redis_client)
    with caplog.at_level(logging.WARNING, logger="ivr.audit"):
        entry_id = audit.record("CA123", "+86139******78", "police_impersonation",
                                ["公安局", "安全账户"], 2.05, "他说他是公安局的，让我转到安全账户",
                                now=1700000000.0)
    assert redis_client.xlen(STREAM) == 1
    [entry] = audit.recent(5)
    assert entry.id == entry_id and entry.call_sid == "CA123"
    assert entry.matched == ["公安局", "安全账户"] and entry.score == 2.05
    assert entry.ts == 1700000000.0 and "安全账户" in entry.excerpt
    assert any("CA123" in r.getMessage() and "police_impersonation" in r.getMessage()
               for r in caplog.records)


def test_unmasked_number_is_masked_and_recent_is_newest_first(redis_client):
    audit = ScamAudit(redis_client)
    audit.record("CA1", "+8613912345678", "relatives", ["出车祸"], 1.0, "a")
    audit.record("CA2", "+86139******78", "investment", ["稳赚不赔"], 1.0, "b")
    entries = audit.recent(10)
    assert [e.call_sid for e in entries] == ["CA2", "CA1"]
    assert "12345" not in entries[1].caller and entries[1].caller.endswith("78")


def test_stream_is_capped(redis_client):
    audit = ScamAudit(redis_client, stream="ivr:audit:test", maxlen=10)
    for i in range(500):
        audit.record(f"CA{i}", "x", "relatives", [], 1.0, "")
    assert redis_client.xlen("ivr:audit:test") < 500  # MAXLEN ~ trims in whole nodes
    assert audit.recent(1)[0].call_sid == "CA499"
