"""``valuenet eval network``: the metrics find what synth planted, through the real stage and graph, on fixed seeds."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from valuenet.cli import app
from valuenet.commands.eval_network import THRESHOLDS, evaluate_network


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_planted_truth_scores_meet_their_targets(seed: int) -> None:
    r = evaluate_network(seed)
    assert r.dead == 0 and r.flows > 4000
    assert r.passed() == dict.fromkeys(THRESHOLDS, True), r.scores
    d = r.details
    assert set(d["top5_brokerage"][: len(d["planted_brokers"])]) == set(d["planted_brokers"])
    assert d["detected_silos"] == d["silo_teams"]
    for person, (measured, planted) in d["reach"].items():
        assert abs(measured - planted) <= 0.1 * planted, person
    opened, answered, asked = d["questions"]  # customer questions: tickets and question posts, nothing else
    assert opened == asked and answered == d["responsiveness"][2]["answered"]
    median, p90, truth = d["responsiveness"]
    assert truth["answered"] > 50 and median == pytest.approx(truth["median_s"], rel=0.1)
    assert p90 == pytest.approx(truth["p90_s"], rel=0.1)
    share, pickup_median, planted_pickup = d["idea_pickup"]
    assert planted_pickup["ideas"] > 30 and share == pytest.approx(planted_pickup["share"], rel=0.1)
    assert pickup_median == pytest.approx(planted_pickup["median_s"], rel=0.1)


def test_cli_prints_the_score_table() -> None:
    result = CliRunner().invoke(app, ["eval", "network", "--seed", "7", "--events", "3000"])
    assert result.exit_code == 0, result.output
    for name in THRESHOLDS:
        assert re.search(rf"{name}\s.*\d\.\d{{3}}", result.output), name
    assert "seed 7" in result.output


def test_cli_fails_when_a_score_misses_its_target() -> None:
    # 300 events: too few cascades, answers and pickups for the planted truth to be recovered
    result = CliRunner().invoke(app, ["eval", "network", "--seed", "7", "--events", "300"])
    assert result.exit_code == 1
    assert "below target" in result.output
