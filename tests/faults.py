"""Run ``valuenet worker`` with one fault injected mid-batch (tests of the agents' error boundary).

Usage: ``python tests/faults.py KIND MARKER [worker args...]``. The fault fires once (the first
time, if ``MARKER`` does not exist yet, which it then creates), so a restarted worker runs clean.

Kinds: ``unbounded`` encodes flows records as before issue 25 (no identifier bounds, no byte cap;
fires every time), so a record over the producer's limit reaches the send; ``normalise`` raises in the processors agent after the first flows record of its second
batch went out; ``graph`` raises in the analytics agent after its second batch reached the
in-memory graph (its flows stored, its offsets not committed). ``disk-full`` makes every chdb
insert fail as on a full disk while ``MARKER`` exists (a stand-in where no small filesystem can be
mounted: tests/smallfs.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class InjectedFault(RuntimeError):
    """The error a test injects."""


def _fire(marker: Path) -> bool:
    if marker.exists():
        return False
    marker.write_text("fired")
    return True


def install(kind: str, marker: Path) -> None:
    """Patch the agent named by ``kind`` to raise once, mid-batch."""
    calls = {"n": 0}
    if kind == "normalise":
        import valuenet.pipeline.normalise_agent as agent

        real_encode = agent.encode_flows

        def encode_flows(
            flows: list[Any], per_record: int, *caps: int
        ) -> tuple[Iterator[tuple[str, bytes]], list[Any]]:
            records, dead = real_encode(flows, per_record, *caps)
            calls["n"] += 1
            if calls["n"] < 2 or not records or not _fire(marker):
                return iter(records), dead

            def first_then_fail() -> Iterator[tuple[str, bytes]]:
                yield records[0]
                raise InjectedFault("injected fault in the normalise agent, mid-batch")

            return first_then_fail(), dead

        agent.encode_flows = encode_flows  # type: ignore[assignment]
    elif kind == "unbounded":  # the encoding before issue 25: no id bounds, no byte cap (send_flows must cope)
        import valuenet.pipeline.normalise_agent as agent
        import valuenet.processors.stage as stage

        stage.bound_flow = lambda flow: flow  # type: ignore[assignment]
        real_unbounded = agent.encode_flows

        def encode_unbounded(flows: list[Any], per_record: int, *caps: int) -> tuple[list[Any], list[Any]]:
            return real_unbounded(flows, per_record, 1 << 40)

        agent.encode_flows = encode_unbounded  # type: ignore[assignment]
    elif kind == "graph":
        import valuenet.pipeline.graph_agent as agent

        real_add = agent.live.add_many

        def add_many(flows: list[Any]) -> Any:
            out = real_add(flows)
            calls["n"] += 1
            if calls["n"] >= 2 and flows and _fire(marker):
                raise InjectedFault("injected fault in the build_graph agent, mid-batch")
            return out

        agent.live.add_many = add_many  # type: ignore[method-assign]
    elif kind == "disk-full":  # only where no small filesystem can be mounted (tests/smallfs.py)
        from valuenet.analytics.storage.chdb_store import ChdbStore, SwallowedInsertError

        real_insert = ChdbStore._insert

        def insert(self: Any, spec: Any, batch: Any) -> None:
            if marker.exists():  # what chdb records when a part's disk reservation fails
                raise SwallowedInsertError(spec.name, batch.num_rows, "NOT_ENOUGH_SPACE", "Cannot reserve 1.00 MiB")
            real_insert(self, spec, batch)

        ChdbStore._insert = insert  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown fault kind {kind!r}")


if __name__ == "__main__":
    kind, marker = sys.argv[1], Path(sys.argv[2])
    sys.argv = ["valuenet", *sys.argv[3:]]
    install(kind, marker)
    from valuenet.cli import main

    main()
