"""On the synthetic value network, the planted brokers, silos and influencers come out on top.

The generator plants the structure and writes the ground truth; the events go through the real
parsers, the identity directory the generator wrote, the classifier and the rolling graph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.tick import WindowResult
from valuenet.config import Settings
from valuenet.ingest.synth import SynthNetwork, write_dataset
from valuenet.pipeline.wiring import build_stage


@pytest.fixture(scope="module")
def window(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, WindowResult]:
    out: Path = tmp_path_factory.mktemp("synth-metrics")
    truth = write_dataset(SynthNetwork(seed=11, actors=120, rate=0.05), out, 4000)
    stage = build_stage(Settings(directory_path=out / "directory.csv"))
    result = stage.process([line.encode() for line in (out / "events.jsonl").read_text().splitlines()])
    assert result.dead == []
    store = GraphStore("synth", windows=["30d"])  # the whole run (about a day of event time)
    store.add_many(result.flows)
    return truth, store.tick().windows[0]


def _by_actor(w: WindowResult, values: np.ndarray) -> dict[str, float]:
    return {str(n): float(v) for n, v in zip(w.graph.names, values)}


def _ranked(values: dict[str, float]) -> list[str]:
    return sorted(values, key=lambda a: values[a], reverse=True)


def test_planted_brokers_rank_top_by_brokerage(window) -> None:
    truth, w = window
    brokers = {f"person:{b['person']}" for b in truth["brokers"]}
    assert set(_ranked(_by_actor(w, w.brokerage))[: len(brokers)]) == brokers
    # Burt: brokers' contacts are less redundant than their team-mates'
    effective, constraint = _by_actor(w, w.effective_size), _by_actor(w, w.constraint)
    for b in truth["brokers"]:
        mates = [f"person:{p}" for p in truth["teams"][b["team"]] if p != b["person"]]
        me = f"person:{b['person']}"
        assert effective[me] > max(effective.get(m, 0.0) for m in mates)
        assert constraint[me] < min(constraint.get(m, 1.0) for m in mates)


def test_planted_influencers_have_the_largest_reach(window) -> None:
    truth, w = window
    influencers = {f"person:{i['person']}" for i in truth["influencers"]}
    reach = _by_actor(w, w.reach)
    assert set(_ranked(reach)[: len(influencers)]) == influencers
    assert all(reach[i] > 0 for i in influencers)


def test_silo_teams_span_no_boundary_and_form_their_own_community(window) -> None:
    truth, w = window
    spanning, between = _by_actor(w, w.boundary_spanning), _by_actor(w, w.betweenness)
    community = _by_actor(w, w.community)

    def mean(metric: dict[str, float], team: str) -> float:
        return float(np.mean([metric.get(f"person:{p}", 0.0) for p in truth["teams"][team]]))

    for silo in truth["silo_teams"]:
        others = [t for t in truth["teams"] if t not in truth["silo_teams"]]
        assert mean(spanning, silo) < min(mean(spanning, t) for t in others)
        assert mean(between, silo) < min(mean(between, t) for t in others)
        members = {f"person:{p}" for p in truth["teams"][silo]}
        labels = {community[m] for m in members if m in community}
        assert len(labels) == 1
        assert {a for a, c in community.items() if c in labels} == members & community.keys()
