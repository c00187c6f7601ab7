"""``valuenet eval network``: planted-truth scores of the metrics on a synthetic value network.

The synthetic network (``valuenet.ingest.synth``) plants brokers, silo teams, influencer
cascades, answered questions and picked-up ideas and writes what it planted (``truth.json``).
:func:`evaluate_network` sends its raw envelopes through the real processors stage
(``valuenet.pipeline.wiring.build_stage``: parsers, dedupe, identity directory, classifier) and
the real rolling graph (``GraphStore.tick``), then scores what the metrics found:

- **broker precision@5** = |top 5 by ``brokerage`` ∩ planted brokers| / min(5, |planted|);
- **influencer precision@k** = |top k by ``reach`` ∩ planted influencers| / k, k = |planted|;
- **silos** = Jaccard(planted silo teams, detected silo teams); a workforce team is detected as a
  silo when its E-I index (its members' flows across the team boundary vs inside, between actors
  of a known segment) is ≤ −0.9;
- **reach error** = max over planted influencers of |reach − planted reach| / planted reach;
- **questions error** = |m − t| / t of the customer questions opened (m measured, t planted);
- **responsiveness error** = |m − t| / t of the median and of the p90;
- **idea pickup error** = |m − t| / t of the picked-up share and of the median delay.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

__all__ = ["NetworkEval", "THRESHOLDS", "evaluate_network", "register"]

console = Console(stderr=True)

#: Pass marks of each score: ("min", x) = at least x, ("max", x) = at most x.
THRESHOLDS: dict[str, tuple[str, float]] = {
    "broker_precision_at_5": ("min", 0.8),
    "influencer_precision_at_k": ("min", 0.9),
    "silos": ("min", 1.0),
    "reach_error": ("max", 0.10),
    "questions_error": ("max", 0.10),
    "responsiveness_median_error": ("max", 0.10),
    "responsiveness_p90_error": ("max", 0.10),
    "idea_pickup_share_error": ("max", 0.10),
    "idea_pickup_median_error": ("max", 0.10),
}
SILO_EI = -0.9


@dataclass
class NetworkEval:
    """Scores of one evaluation run plus what they were computed from."""

    seed: int
    actors: int
    events: int
    flows: int
    dead: int
    seconds: float
    scores: dict[str, float | None]
    details: dict[str, Any] = field(default_factory=dict)

    def passed(self) -> dict[str, bool]:
        """Each score against :data:`THRESHOLDS` (a missing score fails)."""
        out = {}
        for name, (how, mark) in THRESHOLDS.items():
            v = self.scores.get(name)
            out[name] = v is not None and (v >= mark if how == "min" else v <= mark)
        return out


def _rel(measured: float | None, truth: float | None) -> float | None:
    if measured is None or truth is None or truth == 0:
        return None
    return abs(measured - truth) / abs(truth)


def evaluate_network(
    seed: int,
    *,
    actors: int = 120,
    events: int = 4000,
    rate: float = 0.05,
    window: str = "3650d",
    out_dir: Path | None = None,
) -> NetworkEval:
    """Generate synth data for ``seed``, run the real stage and a metric tick, score against the planted truth."""
    from valuenet.analytics.graph_store import GraphStore
    from valuenet.analytics.metrics.engine import SEGMENTS
    from valuenet.config import Settings
    from valuenet.ingest.synth import SynthNetwork, write_dataset
    from valuenet.pipeline.wiring import build_stage

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="valuenet-eval-") as tmp:
        out = out_dir or Path(tmp)
        truth = write_dataset(SynthNetwork(seed=seed, actors=actors, rate=rate), out, events)
        stage = build_stage(Settings(directory_path=out / "directory.csv"))
        lines = (out / "events.jsonl").read_bytes().splitlines()
        result = stage.process(lines)
    store = GraphStore(truth["network"], windows=[window], betweenness_pivots=None)
    store.add_many(result.flows)
    w = store.tick().windows[0]
    g = w.graph
    names = [str(n) for n in g.names]

    def person(i: int) -> str:
        return names[i].removeprefix("person:")

    def top(values: np.ndarray, k: int) -> list[str]:
        order = np.lexsort((np.array(names), -np.asarray(values, dtype=float)))
        return [person(int(i)) for i in order[:k]]

    brokers = {b["person"] for b in truth["brokers"]}
    top5 = top(w.brokerage, 5)
    broker_p = len(set(top5) & brokers) / min(5, len(brokers))
    influencers = {i["person"] for i in truth["influencers"]}
    topk = top(w.reach, len(influencers))
    infl_p = len(set(topk) & influencers) / len(influencers)

    team_of = {p: t for t, members in truth["teams"].items() for p in members}
    wf = SEGMENTS.index("workforce")
    codes = {t: k for k, t in enumerate(sorted(truth["teams"]))}
    groups = np.array(
        [codes[team_of[person(i)]] if g.segment[i] == wf and person(i) in team_of else -1 - i for i in range(g.n)]
    )
    team_ei: dict[str, float] = {}
    total = g.total.tocoo()
    known = g.segment != SEGMENTS.index("unknown")  # accounts nobody is behind (a GitHub org) exchange nothing
    between = known[total.row] & known[total.col]
    for team, code in codes.items():
        touch = between & ((groups[total.row] == code) | (groups[total.col] == code))
        internal = float(total.data[touch & (groups[total.row] == groups[total.col])].sum())
        external = float(total.data[touch].sum()) - internal
        team_ei[team] = (external - internal) / (external + internal) if external + internal else 0.0
    detected = {t for t, ei in team_ei.items() if ei <= SILO_EI}
    planted = set(truth["silo_teams"])
    silos = len(detected & planted) / len(detected | planted) if detected | planted else 1.0

    reach = {person(i): int(v) for i, v in enumerate(w.reach)}
    reach_errors = {p: _rel(reach.get(p, 0), n) for p, n in truth["reach"].items() if n}
    reach_err = max((e for e in reach_errors.values() if e is not None), default=None)

    net = w.network_metrics
    resp = truth["responsiveness"]
    asked = float(resp["answered"] + truth["unanswered_questions"])
    pickup = truth.get("idea_pickup", {})
    scores: dict[str, float | None] = {
        "broker_precision_at_5": broker_p,
        "influencer_precision_at_k": infl_p,
        "silos": silos,
        "reach_error": reach_err,
        "questions_error": _rel(_f(net.get("questions")), asked),
        "responsiveness_median_error": _rel(_f(net.get("responsiveness_median_s")), resp.get("median_s")),
        "responsiveness_p90_error": _rel(_f(net.get("responsiveness_p90_s")), resp.get("p90_s")),
        "idea_pickup_share_error": _rel(_f(net.get("idea_pickup_share")), pickup.get("share")),
        "idea_pickup_median_error": _rel(_f(net.get("idea_pickup_median_s")), pickup.get("median_s")),
    }
    details = {
        "top5_brokerage": top5,
        "planted_brokers": sorted(brokers),
        "topk_reach": topk,
        "planted_influencers": sorted(influencers),
        "team_ei": team_ei,
        "silo_teams": sorted(planted),
        "detected_silos": sorted(detected),
        "reach": {p: (reach.get(p, 0), n) for p, n in truth["reach"].items()},
        "responsiveness": (net.get("responsiveness_median_s"), net.get("responsiveness_p90_s"), resp),
        "questions": (net.get("questions"), net.get("questions_answered"), asked),
        "idea_pickup": (net.get("idea_pickup_share"), net.get("idea_pickup_median_s"), pickup),
        "dead": [d.reason for d in result.dead[:5]],
    }
    return NetworkEval(
        seed=seed,
        actors=actors,
        events=events,
        flows=len(result.flows),
        dead=len(result.dead),
        seconds=time.perf_counter() - started,
        scores=scores,
        details=details,
    )


def _f(v: object) -> float | None:
    return None if v is None else float(v)  # type: ignore[arg-type]


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def eval_network(
    seed: list[int] = typer.Option([3, 7, 11], "--seed", "-s", help="Synth seed (repeat for several)."),
    actors: int = typer.Option(120, help="Actors in the synthetic network."),
    events: int = typer.Option(4000, help="Events generated per seed."),
    rate: float = typer.Option(0.05, help="Events per second of event time."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print what each score was computed from."),
) -> None:
    """Generate synth data, run the real stage and metrics, print each planted-truth score per seed."""
    runs = []
    for s in seed:
        console.print(f"seed {s}: {actors} actors, {events} events …")
        r = evaluate_network(s, actors=actors, events=events, rate=rate)
        console.print(f"seed {s}: {r.flows} flows, {r.dead} dead letters, {r.seconds:.1f} s")
        runs.append(r)
    table = Table(title=f"planted-truth scores ({actors} actors, {events} events per seed)")
    table.add_column("score")
    table.add_column("target", justify="right")
    for r in runs:
        table.add_column(f"seed {r.seed}", justify="right")
    for name, (how, mark) in THRESHOLDS.items():
        cells = []
        for r in runs:
            ok = r.passed()[name]
            cells.append(f"[{'green' if ok else 'red'}]{_fmt(r.scores[name])}[/]")
        table.add_row(name, f"{'≥' if how == 'min' else '≤'} {mark:g}", *cells)
    Console().print(table)
    if verbose:
        for r in runs:
            Console().print(f"seed {r.seed}", r.details)
    failed = [(r.seed, n) for r in runs for n, ok in r.passed().items() if not ok]
    if failed:
        console.print(f"[red]{len(failed)} score(s) below target[/red]: {failed}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``eval network`` to the ``eval`` group (declared by ``valuenet.commands.classify``)."""
    from valuenet.commands.classify import eval_app

    eval_app.command("network")(eval_network)
