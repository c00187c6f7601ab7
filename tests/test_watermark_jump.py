"""One late-arriving recent event must not empty the windows of a history (issue #25 item 4).

The bundled git history (2020-2026) is replayed through the real stage into a GraphStore with
30d / 365d windows, once clean and once with one commit re-dated to yesterday (it passes the
stage's future guard: it is not in the future). Without the jump guard it moves the watermark and
the history's windows empty; with it the re-dated commit is held (counted, listed), and every
window equals the clean replay's: actors, networkx metrics and PageRank per actor.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.pipeline_harness import git_records
from valuenet.analytics.graph_store import AddStatus, GraphStore
from valuenet.analytics.window import JumpHold
from valuenet.config import Settings
from valuenet.pipeline.wiring import build_stage
from valuenet.schemas import Flow

WINDOWS = ["30d", "365d"]
LANES = 4
NOW = datetime.now(UTC).replace(microsecond=0)
YESTERDAY = NOW - timedelta(days=1)


def _envelope(commit: dict) -> bytes:
    return json.dumps({"source": "git", "network": "hist", "received_at": NOW.isoformat(), "payload": commit}).encode()


def history_flows(redate: int | None = None) -> tuple[list[Flow], set[str]]:
    """Flows of the whole bundled history through the real stage (the first commit from ``redate`` on with
    at least 3 flows dated yesterday: more flows than ``k`` confirmations, one event), each on lane
    ``index % LANES`` as if from 4 raw partitions; and the re-dated commit's event ids."""
    commits = git_records(100_000)
    stage = build_stage(Settings())
    if redate is not None:
        while len(stage.process([_envelope(commits[redate])]).flows) < 3:
            redate += 1
        when = YESTERDAY.isoformat()
        commits[redate] = {**commits[redate], "commit": "e" * 8 + commits[redate]["commit"][8:]}
        commits[redate] |= {"committed_at": when, "authored_at": when}
    stage = build_stage(Settings())
    flows: list[Flow] = []
    moved: set[str] = set()
    for i, commit in enumerate(commits):
        result = stage.process([_envelope(commit)])
        assert not result.dead
        for f in result.flows:
            f.lane = i % LANES
            if i == redate:
                moved.add(f.event_id)
        flows.extend(result.flows)
    return flows, moved


def store(**kwargs: object) -> GraphStore:
    return GraphStore(
        "hist", windows=WINDOWS, bucket_seconds=3600, allowed_lateness_seconds=300, engine="networkx", **kwargs
    )


def replay(flows: list[Flow], gs: GraphStore, chunk: int = 500) -> dict[str, int]:
    tally: dict[str, int] = {}
    for i in range(0, len(flows), chunk):
        for k, v in gs.add_many(flows[i : i + chunk]).items():
            tally[k] = tally.get(k, 0) + v
    return tally


def windows_of(gs: GraphStore) -> dict[str, tuple[dict, dict[str, float]]]:
    """Per window: network metrics (timing fields left out) and PageRank per actor name."""
    out = {}
    for w in gs.tick().windows:
        metrics = {k: v for k, v in w.network_metrics.items() if k not in ("tick_seconds", "watermark_ms")}
        pagerank = dict(zip(w.graph.names.tolist(), np.round(w.pagerank, 12).tolist(), strict=True))
        out[w.window] = (metrics, pagerank)
    return out


@pytest.fixture(scope="module")
def clean() -> tuple[list[Flow], GraphStore, dict[str, int]]:
    flows, _ = history_flows()
    gs = store()
    return flows, gs, replay(flows, gs)


@pytest.fixture(scope="module")
def redated() -> tuple[list[Flow], set[str]]:
    return history_flows(redate=3000)


def test_without_the_guard_one_redated_commit_empties_the_windows(clean, redated) -> None:
    _, clean_store, _ = clean
    flows, _ = redated
    gs = store(max_jump_seconds=None)
    tally = replay(flows, gs)
    assert gs.watermark == YESTERDAY.timestamp()  # the outlier moved it
    assert tally["late"] > 1000  # the rest of the history in its lane counts late
    assert windows_of(gs)["365d"][0]["actors"] < windows_of(clean_store)["365d"][0]["actors"]


def test_a_redated_commit_is_held_and_the_windows_equal_the_clean_replay(clean, redated) -> None:
    _, clean_store, clean_tally = clean
    flows, moved = redated
    gs = store()
    tally = replay(flows, gs)
    assert gs.watermark == clean_store.watermark  # the history's end, not yesterday
    assert tally["held"] == len(moved) and gs.held_events == len(moved) >= 3  # one event, 3+ flows: still held
    assert {f.event_id for f in gs.held_flows()} == moved  # counted and listed, not dropped silently
    assert all(w.held_events == len(moved) for w in map(gs.live_window, WINDOWS))
    assert tally["late"] == clean_tally["late"]
    assert tally["applied"] == clean_tally["applied"] - len(moved)
    got, want = windows_of(gs), windows_of(clean_store)
    assert want["30d"][0]["actors"] > 10 and want["365d"][0]["actors"] > 100  # the history's windows are not empty
    redated_commit_dates = {f.timestamp for f in flows if f.event_id in moved}
    assert all(d > datetime.fromtimestamp(clean_store.watermark, UTC) for d in redated_commit_dates)
    for window in WINDOWS:
        assert got[window][0] == want[window][0], window
        assert got[window][1] == want[window][1], window
    one_by_one = store()  # add() per flow decides the same
    statuses = [one_by_one.add(f).value for f in flows]
    assert statuses.count("held") == len(moved) and windows_of(one_by_one) == got
    # a rebuild (restart) from the same flows holds it again: the same state
    again = store()
    again.rebuild(flows)
    assert again.held_events == len(moved) and windows_of(again) == got


def test_live_traffic_after_the_history_confirms_the_jump_and_releases_the_held_commit(redated) -> None:
    flows, moved = redated
    gs = store()
    replay(flows, gs)
    template = flows[-1]
    (lane,) = {f.lane for f in flows if f.event_id in moved}  # jumps are confirmed per lane (by its own order)
    live = [
        template.model_copy(
            update={"event_id": f"live-{i}", "timestamp": NOW - timedelta(minutes=30 - i), "lane": lane}
        )
        for i in range(3)
    ]
    assert [gs.add(f) for f in live[:2]] == [AddStatus.held, AddStatus.held]  # two in a row: not yet a jump
    assert gs.watermark < YESTERDAY.timestamp()
    assert gs.add(live[2]) == AddStatus.applied  # the third confirms it: everything held is applied in time order
    assert gs.held_events == 0
    assert gs.watermark == live[2].timestamp.timestamp()
    assert gs.late_events == 0 or all(f.event_id not in moved for f in live)
    thirty = gs.live_window("30d")
    assert sum(thirty.flows.values()) == len(moved) + 3  # yesterday's commit and the live flows, nothing late


def test_jump_hold_policy_on_plain_numbers() -> None:
    """J = 10, k = 3 on one lane: the formula of analytics/window.py, step by step."""

    class F:
        def __init__(self, eid: str, lane: int | None = None) -> None:
            self.event_id, self.lane = eid, lane

    hold = JumpHold(10, 3)
    wm: dict[int | None, float] = {}

    def feed(times: list[float]) -> list[str]:
        flows = [F(f"e{t}") for t in times]
        out, _, _ = hold.admit(flows, times, wm.get)
        for f in out:  # what the store does with applied flows: the lane watermark is their maximum
            t = float(f.event_id[1:])
            wm[None] = max(wm.get(None, t), t)
        return [f.event_id for f in out]

    assert feed([0.0, 5.0, 12.0]) == ["e0.0", "e5.0", "e12.0"]  # each within J of the running watermark
    assert feed([100.0, 13.0, 14.0]) == ["e13.0", "e14.0"] and hold.held == 1  # 100 > 14 + 10: held
    assert feed([20.0, 30.0, 40.0]) == ["e20.0", "e30.0", "e40.0"]  # 100 still > 40 + 10
    assert feed([91.0]) == [] and hold.held == 2  # 91 > 50 but not three in a row yet
    assert feed([45.0, 55.0]) == ["e45.0", "e55.0"]
    assert feed([60.0, 70.0, 80.0]) == ["e60.0", "e70.0", "e80.0"] and hold.held == 2  # 91 > 80 + 10
    assert feed([85.0]) == ["e85.0", "e91.0", "e100.0"]  # caught up: 91 ≤ 95, then 100 ≤ 101, in time order
    assert hold.held == 0
    assert feed([500.0, 600.0]) == [] and hold.held == 2  # two in a row ahead: held
    assert feed([700.0]) == ["e500.0", "e600.0", "e700.0"]  # the third confirms the jump
    assert feed([705.0]) == ["e705.0"] and hold.held == 0 and hold.held_total == 5
    out, held, dropped = hold.admit([F("e900.0"), F("e900.0")], [900.0, 900.0], wm.get)
    assert (out, held, dropped) == ([], 1, 1)  # a re-delivery of a held flow is a duplicate
