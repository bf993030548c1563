"""Counters of several media processes on one port add up to the box's; silent ones drop out."""

from __future__ import annotations

import json

from ivr.media.box_stats import combine, snapshot


def test_fresh_processes_are_summed_and_stale_ones_left_out():
    now = 1000.0
    raw = {
        b"box:1": snapshot({"frames": 100, "active": 2, "refused": {"token": 1}}, now - 1),
        b"box:2": snapshot({"frames": 50, "active": 1, "refused": {"token": 2, "dead": 1}}, now),
        b"box:3": snapshot({"frames": 999, "active": 9}, now - 60),  # killed a minute ago
        b"box:4": b"not json",
    }
    got = combine(raw, now)
    assert got["processes"] == 2
    assert got["frames"] == 150 and got["active"] == 3
    assert got["refused"] == {"token": 3, "dead": 1}
    assert "ts" not in got


def test_no_process_heard_from_is_an_empty_box():
    assert combine({}, 5.0) == {"processes": 0}
    assert combine({"x": json.dumps({"frames": 1, "ts": 0})}, 100.0) == {"processes": 0}
