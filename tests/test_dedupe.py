"""Dedupe: duplicates detected, memory bounded by count and by event-time retention, warm after restart."""

from datetime import UTC, datetime, timedelta

import pytest

from valuenet.processors.dedupe import Deduper, warm

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def test_second_sighting_is_a_duplicate():
    d = Deduper(capacity=10, retention=3600)
    assert d.seen("a", T0) is False
    assert d.seen("a", T0) is True
    assert d.seen("b", T0 + timedelta(seconds=1)) is False
    assert len(d) == 2


def test_capacity_bound_evicts_oldest_insertion():
    d = Deduper(capacity=3, retention=10**9)
    for i in range(5):
        d.seen(f"e{i}", i)
    assert len(d) == 3
    assert "e0" not in d and "e1" not in d
    assert d.seen("e4", 5) is True
    assert d.seen("e0", 6) is False  # forgotten, so counted again: the documented bound
    assert d.evicted == 3


def test_retention_forgets_ids_once_watermark_moves_past():
    d = Deduper(capacity=100, retention=timedelta(hours=1))
    d.seen("old", T0)
    d.seen("mid", T0 + timedelta(minutes=30))
    d.seen("new", T0 + timedelta(hours=1, minutes=1))
    assert "old" not in d
    assert "mid" in d and "new" in d


def test_reverse_chronological_replay_is_not_evicted_by_time():
    d = Deduper(capacity=1000, retention=60)
    ids = [(f"c{i}", T0 - timedelta(days=i)) for i in range(100)]  # git log order: newest first
    for eid, ts in ids:
        assert d.seen(eid, ts) is False
    assert all(d.seen(eid, ts) for eid, ts in ids)
    assert len(d) == 100


def test_warm_after_restart_detects_replayed_events():
    stored = [(f"e{i}", T0 + timedelta(seconds=i)) for i in range(50)]
    d = Deduper(capacity=1000, retention=3600)
    assert warm(d, stored) == 50
    replay = [d.seen(eid, ts) for eid, ts in stored[40:]] + [d.seen("fresh", T0 + timedelta(seconds=60))]
    assert replay == [True] * 10 + [False]


def test_bad_bounds_are_rejected():
    with pytest.raises(ValueError, match="capacity"):
        Deduper(capacity=0)
    with pytest.raises(ValueError, match="retention"):
        Deduper(retention=0)
