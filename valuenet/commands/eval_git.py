"""A check on real history: where the git/git maintainer ranks as a broker in each yearly window, and why.

The bundled sample (``ingest/samples/git-history-sample.jsonl.gz``, 5,708 commits of git/git)
goes through the real stage (the git parser, the identity directory
``ingest/samples/git-directory.yaml``: segments by e-mail domain, the classifier); its flows are
split by calendar year and each year is one window of the real rolling graph (``GraphStore.tick``).
For the maintainer (Junio C Hamano, ``git:junio c hamano``) each row gives his rank by
``brokerage`` (Gould–Fernandez gatekeeper + representative + liaison pairs), by betweenness and by
PageRank, his brokered pairs per role, the authors whose patches he applied (each ``apply`` is a
reputation flow to the author), and the segments on the other side of his ties: the reason he ranks
where he does. The full history (``/work/shared/datasets/git-history-trailers.jsonl.gz``) is not
read at run time; ``benchmarks/git_maintainer_rank.py`` runs the same check on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
from rich.table import Table

__all__ = ["MAINTAINER", "git_history_table", "maintainer_ranks"]

MAINTAINER = "git:junio c hamano"


def _rank(values: np.ndarray, names: list[str], i: int) -> int:
    order = np.lexsort((np.array(names), -np.asarray(values, dtype=float)))
    return int(np.flatnonzero(order == i)[0]) + 1


def maintainer_ranks(
    records: Iterable[dict[str, Any]] | None = None, maintainer: str = MAINTAINER
) -> list[dict[str, Any]]:
    """One row per calendar year of ``records`` (default the bundled sample): the maintainer's ranks and why."""
    from valuenet.analytics.graph_store import GraphStore
    from valuenet.analytics.metrics.brokerage import BROKER_ROLES
    from valuenet.analytics.metrics.engine import SEGMENTS
    from valuenet.config import Settings
    from valuenet.ingest.samples import GIT_SAMPLE, git_sample
    from valuenet.pipeline.wiring import build_stage
    from valuenet.schemas.envelope import RawEnvelope
    from valuenet.schemas.interaction import Source

    lines = [
        RawEnvelope(
            source=Source.git,
            network="git-git",
            received_at=datetime.fromisoformat(r["committed_at"]),
            payload=r,
        )
        .model_dump_json()
        .encode()
        for r in (git_sample() if records is None else records)
    ]
    stage = build_stage(Settings(directory_path=GIT_SAMPLE.with_name("git-directory.yaml")))
    flows = stage.process(lines).flows
    by_year: dict[int, list[Any]] = {}
    for f in flows:
        by_year.setdefault(f.timestamp.year, []).append(f)
    rows: list[dict[str, Any]] = []
    for year in sorted(by_year):
        year_flows = sorted(by_year[year], key=lambda f: f.timestamp)
        store = GraphStore("git-git", windows=["366d"], betweenness_pivots=None)
        store.add_many(year_flows)
        w = store.tick().windows[0]
        g = w.graph
        names = [str(n) for n in g.names]
        commits = len({f.event_id for f in year_flows})
        if maintainer not in names:
            rows.append({"year": year, "commits": commits, "actors": g.n, "rank_brokerage": None})
            continue
        i = names.index(maintainer)
        top = names[int(np.lexsort((np.array(names), -w.brokerage))[0])]
        applied = {f.receiver for f in year_flows if f.giver == maintainer and f.kind.value == "apply"}
        mine = [f for f in year_flows if maintainer in (f.giver, f.receiver) and f.receiver]
        other_segments = Counter((f.receiver_segment if f.giver == maintainer else f.giver_segment).value for f in mine)
        roles = dict(zip(BROKER_ROLES, (int(x) for x in w.broker_roles[i]), strict=True))
        rows.append(
            {
                "year": year,
                "commits": commits,
                "actors": g.n,
                "rank_brokerage": _rank(w.brokerage, names, i),
                "rank_betweenness": _rank(w.betweenness, names, i),
                "rank_pagerank": _rank(w.pagerank, names, i),
                "brokerage": int(w.brokerage[i]),
                "roles": roles,
                "authors_applied": len(applied),
                "other_side": dict(other_segments.most_common()),
                "segment": SEGMENTS[int(g.segment[i])],
                "top_broker": top,
            }
        )
    return rows


def _why(r: dict[str, Any]) -> str:
    """The reason in words: whose patches he applied and which brokerage roles carry his rank."""
    if r.get("rank_brokerage") is None:
        return "not in this year's flows"
    roles = r["roles"]
    carried = max(("gatekeeper", "representative", "liaison"), key=lambda k: roles[k])
    sides = ", ".join(f"{k} {v}" for k, v in list(r["other_side"].items())[:3])
    text = (
        f"applied patches of {r['authors_applied']} authors; flows with {sides}; "
        f"{roles[carried]} {carried} pairs of {r['brokerage']}"
    )
    if r["rank_brokerage"] > 1:
        text += f"; first: {r['top_broker']}"
    return text


def git_history_table(rows: list[dict[str, Any]], what: str = "git/git sample") -> Table:
    """The yearly ranks as a rich table (``valuenet eval network --git-history``)."""
    table = Table(title=f"{what}: the maintainer ({MAINTAINER}) as a broker, one window per year")
    for col in ("year", "commits", "actors", "brokerage rank", "betweenness rank", "PageRank rank", "why"):
        table.add_column(col, justify="left" if col == "why" else "right", overflow="fold")
    for r in rows:
        table.add_row(
            str(r["year"]),
            str(r["commits"]),
            str(r["actors"]),
            str(r.get("rank_brokerage") or "—"),
            str(r.get("rank_betweenness") or "—"),
            str(r.get("rank_pagerank") or "—"),
            _why(r),
        )
    return table
