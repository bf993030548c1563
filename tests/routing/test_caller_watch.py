from ivr.routing.caller_watch import REPEAT_CALLER, WATCH_LIST, CallerWatch, caller_key


def test_repeat_caller_flagged_over_threshold_within_window(redis_client):
    watch = CallerWatch(redis_client, window_seconds=600, threshold=3)
    flags = [watch.note_call("+8613912345678", now=1000 + i, call_sid=f"CA{i}") for i in range(5)]
    assert flags[:3] == [[], [], []]
    assert flags[3] == [REPEAT_CALLER] and flags[4] == [REPEAT_CALLER]
    assert watch.count("13912345678", now=1005) == 5  # same caller, other spelling


def test_old_calls_leave_the_window(redis_client):
    watch = CallerWatch(redis_client, window_seconds=60, threshold=2)
    for i in range(3):
        watch.note_call("13900000000", now=1000 + i)
    assert watch.note_call("13900000000", now=1000 + 200) == []
    assert watch.count("13900000000", now=1200) == 1


def test_same_call_sid_counts_once(redis_client):
    watch = CallerWatch(redis_client, window_seconds=60, threshold=1)
    assert watch.note_call("13900000000", now=10, call_sid="CA1") == []
    assert watch.note_call("13900000000", now=11, call_sid="CA1") == []


def test_keys_hold_a_hash_never_the_number_and_expire(redis_client):
    watch = CallerWatch(redis_client, window_seconds=60, threshold=5, salt="s")
    watch.note_call("+86 139-1234-5678", now=100)
    keys = redis_client.keys("*")
    assert keys == [f"ivr:{{caller:{caller_key('13912345678', 's')}}}:calls"]
    assert "13912345678" not in keys[0] and "5678" not in keys[0]
    assert 0 < redis_client.ttl(keys[0]) <= 120


def test_watch_list_by_number_or_hash(redis_client):
    hashed = caller_key("13800000001")
    watch = CallerWatch(redis_client, threshold=100, watch_list={"+86 13700000000", hashed})
    assert watch.note_call("13700000000", now=1) == [WATCH_LIST]
    assert watch.note_call("+8613800000001", now=1) == [WATCH_LIST]
    assert watch.note_call("13600000000", now=1) == []
