"""Where what-if answers are computed: a window rebuilt from the stored flows, cached, in a child process.

The API may run in another process than the worker (``valuenet serve``), so a what-if window is
rebuilt from ClickHouse ``flows`` — the rows the worker's own rebuild reads (``Reader.flows_since``,
stream order) plus the directory's re-segmentations — through :func:`~valuenet.analytics.whatif.load_window`.
:class:`WhatIfRunner` computes in a one-process pool (``spawn``, like the tick) so the API's
event loop stays free; the child keeps the last few loaded windows keyed by the stored flows'
fingerprint (rows, newest event time, largest ``seq``): a window is rebuilt when the stored flows
changed *and* it is older than ``max_age_seconds`` (60; under live traffic the flows change every
second, and a rearrangement question does not need the last minute), and the rows are sent to the
child only then, :data:`PAGE_ROWS` at a time (read and sent page by page, so the API's event loop
runs in between). Every answer says when its window was loaded (``window_loaded_at``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from valuenet.analytics.keyperson import explain, key_person_risk
from valuenet.analytics.kinds import DEFAULT_KINDS, parse_kinds
from valuenet.analytics.metrics.engine import SEGMENTS
from valuenet.analytics.metrics.silos import silo_test
from valuenet.analytics.recommend import recommend
from valuenet.analytics.storage.reader import Reader
from valuenet.analytics.whatif import Change, WhatIfWindow, impact, load_window
from valuenet.analytics.window import WindowSpec
from valuenet.schemas import Flow
from valuenet.schemas.trusted import trusted

__all__ = ["WindowConfig", "WhatIfRunner", "change_from", "run_task", "window_from_reader", "key_persons"]

NEED_ROWS = "need-rows"
CACHE_WINDOWS = 3
TASKS = ("whatif", "recommend", "keyperson", "silos")


@dataclass(frozen=True)
class WindowConfig:
    """How windows are cut (the worker's settings)."""

    bucket_seconds: int = 60
    allowed_lateness_seconds: float = 300.0
    max_age_seconds: float = 60.0  # a cached window serves this long even when flows arrived meanwhile

    def since_ms(self, window: str, newest_ms: int) -> int:
        """Oldest event time a rebuild of ``window`` must read (window + lateness + one bucket)."""
        seconds = WindowSpec.parse(window, self.bucket_seconds).seconds
        return int(newest_ms - (seconds + self.allowed_lateness_seconds + self.bucket_seconds) * 1000)


def change_from(params: dict[str, Any]) -> Change:
    """A :class:`Change` from JSON fields (lists of names and of name pairs)."""

    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        out = []
        for p in params.get(key) or []:
            if len(p) != 2:
                raise ValueError(f"{key}: every entry is a pair of names, got {p!r}")
            out.append((str(p[0]), str(p[1])))
        return tuple(out)

    return Change(
        remove_actors=tuple(str(a) for a in params.get("remove_actors") or []),
        remove_teams=tuple(str(t) for t in params.get("remove_teams") or []),
        remove_tunnels=pairs("remove_tunnels"),
        merge_teams=pairs("merge_teams"),
        add_ties=pairs("add_ties"),
    )


def key_persons(
    w: WhatIfWindow, *, limit: int = 10, effects: int = 0, kinds: frozenset[str] = DEFAULT_KINDS
) -> dict[str, Any]:
    """Key-person risk ranking of ``w`` (actors of ``kinds``); the first ``effects`` with their removal's impact."""
    t0 = time.perf_counter()
    rows = key_person_risk(w.graph, limit=limit, kinds=kinds)
    for i, row in enumerate(rows):
        row["rank"] = i + 1
        row["reason"] = explain(row)
        if i < effects:
            row["expected_effect"] = impact(w, Change(remove_actors=(row["actor"],)))["summary"]
    return {
        "network": w.network,
        "window": w.result.window,
        "actors": rows,
        "seconds": time.perf_counter() - t0,
    }


def silos(w: WhatIfWindow) -> dict[str, Any]:
    """The window's workforce teams tested for silos by evidence (``analytics.metrics.silos``)."""
    t0 = time.perf_counter()
    g = w.graph
    wf = g.segment == SEGMENTS.index("workforce")
    test = silo_test(
        g,
        np.where(wf & (g.team >= 0), g.team.astype(np.int64), -1),
        dict(enumerate(g.team_names)),
        mask=g.segment != SEGMENTS.index("unknown"),
    )
    return {
        "network": w.network,
        "window": w.result.window,
        "openness": test.openness,
        "kappa": test.kappa,
        "alpha": test.alpha,
        "tie_ends": test.two_m,
        "silos": test.silos,
        "groups": [asdict(x) for x in test.groups],
        "seconds": time.perf_counter() - t0,
    }


def run_task(w: WhatIfWindow, task: str, params: dict[str, Any]) -> dict[str, Any]:
    """Answer ``task`` (``whatif`` | ``recommend`` | ``keyperson``) on a loaded window."""
    if task == "whatif":
        return impact(w, change_from(params))
    if task == "recommend":
        return recommend(w, limit=int(params.get("limit", 5)))
    if task == "keyperson":
        return key_persons(
            w,
            limit=int(params.get("limit", 10)),
            effects=int(params.get("effects", 0)),
            kinds=parse_kinds(params.get("include_kinds")),
        )
    if task == "silos":
        return silos(w)
    raise ValueError(f"task {task!r}: expected one of {', '.join(TASKS)}")


_FLOW_FIELDS = tuple(Flow.model_fields)


def stored_flows(rows: Iterable[dict]) -> Iterator[Flow]:
    """Stored ``flows`` rows as Flow objects without re-validation (the sink validated them on the way in;
    ``timestamp`` from ``timestamp_ms``): ~8× faster than ``rows_to_models``, one at a time."""
    for r in rows:
        d = {k: r.get(k) for k in _FLOW_FIELDS}
        d["timestamp"] = datetime.fromtimestamp(int(r["timestamp_ms"]) / 1000, UTC)
        yield trusted(Flow, d)


def _load(network: str, window: str, rows: list[dict], identities: list, cfg: WindowConfig) -> WhatIfWindow:
    return load_window(  # builds with the collector paused, one chunk of flows at a time
        stored_flows(rows),
        network=network,
        window=window,
        bucket_seconds=cfg.bucket_seconds,
        allowed_lateness_seconds=cfg.allowed_lateness_seconds,
        identities=identities,
    )


def window_from_reader(reader: Reader, network: str, window: str, cfg: WindowConfig) -> WhatIfWindow:
    """Rebuild ``window`` of ``network`` from the stored flows (in this process)."""
    _, newest, _ = reader.flows_fingerprint(network)
    if newest == 0:
        raise LookupError(f"network {network!r}: no stored flows")
    rows = reader.flows_since(network, cfg.since_ms(window, newest))
    return _load(network, window, rows, reader.identities(network), cfg)


_CACHE: OrderedDict[tuple[str, str], tuple[tuple[int, int, int], WhatIfWindow, float, float]] = OrderedDict()
_STAGED: dict[tuple[str, str], list[dict]] = {}  # rows arriving page by page for the next rebuild
PAGE_ROWS = 20_000  # rows per read and per transfer: the parent's event loop runs between pages


def _stage(key: tuple[str, str], page: list[dict], first: bool) -> int:
    """Child-process entry: keep one page of rows for the next rebuild of ``key``; rows staged so far."""
    rows = _STAGED.setdefault(key, [])
    if first:
        rows.clear()
    rows.extend(page)
    return len(rows)


def _child(
    key: tuple[str, str],
    fingerprint: tuple[int, int, int],
    task: str,
    params: dict[str, Any],
    cfg: WindowConfig,
    rows: list[dict] | None = None,
    identities: list | None = None,
) -> dict[str, Any] | str:
    """Child-process entry: answer from the cached window, or ask for the rows (:data:`NEED_ROWS`).

    With ``identities`` given, the window is rebuilt from ``rows`` or else from the staged pages.
    """
    hit = _CACHE.get(key)
    load_s = 0.0
    fresh = hit is not None and (hit[0] == fingerprint or time.monotonic() - hit[3] < cfg.max_age_seconds)
    if not fresh:
        if identities is None:
            return NEED_ROWS
        if rows is None:
            rows = _STAGED.pop(key, [])
        t0 = time.perf_counter()
        w = _load(key[0], key[1], rows, identities or [], cfg)
        load_s = time.perf_counter() - t0
        _CACHE[key] = hit = (fingerprint, w, load_s, time.monotonic())
        while len(_CACHE) > CACHE_WINDOWS:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    assert hit is not None
    out = run_task(hit[1], task, params)
    out["window_load_seconds"] = load_s
    out["flows_loaded"] = hit[1].flows
    out["window_loaded_at"] = hit[1].loaded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _warm() -> None:
    """Child start-up: import the engines and load the compiled kernels once (tiny window)."""
    from datetime import timedelta

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    flows = [
        trusted(
            Flow,
            {
                **dict.fromkeys(_FLOW_FIELDS),
                "schema_version": 1,
                "event_id": f"w{i}",
                "network": "warm",
                "source": "synth",
                "kind": "reply",
                "timestamp": t0 + timedelta(seconds=i),
                "giver": f"a{i % 7}",
                "receiver": f"a{(i * 3 + 1) % 7}",
                "giver_segment": "workforce",
                "receiver_segment": "customer" if i % 2 else "workforce",
                "flow_type": "knowledge",
                "confidence": 1.0,
                "reason": "",
            },
        )
        for i in range(40)
    ]
    w = load_window(flows, network="warm", window="1h")
    run_task(w, "recommend", {})


class WhatIfRunner:
    """Answers what-if, key-person and recommendation questions for the API, off its event loop."""

    def __init__(self, reader: Reader, cfg: WindowConfig, executor: Executor | None = None) -> None:
        self.reader = reader
        self.cfg = cfg
        self._own = executor is None
        self.executor = executor or ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._warming = self.executor.submit(_warm)  # starts the child now, beside the first rows query
        self._loading = asyncio.Lock()  # one rebuild at a time; a second question then finds it cached

    async def run(self, task: str, network: str, window: str, params: dict[str, Any]) -> dict[str, Any]:
        """Answer ``task`` on ``window`` of ``network`` (rebuilding the window in the child when flows changed)."""
        if task not in TASKS:
            raise ValueError(f"task {task!r}: expected one of {', '.join(TASKS)}")
        change_from(params) if task == "whatif" else None  # bad fields fail here, before any work
        loop = asyncio.get_running_loop()
        fp = await asyncio.to_thread(self.reader.flows_fingerprint, network)
        if fp[0] == 0:
            raise LookupError(f"network {network!r}: no stored flows")
        key = (network, window)
        out = await loop.run_in_executor(self.executor, _child, key, fp, task, params, self.cfg)
        if out == NEED_ROWS:
            async with self._loading:
                out = await loop.run_in_executor(self.executor, _child, key, fp, task, params, self.cfg)
                if out == NEED_ROWS:
                    await self._send_rows(key, network, self.cfg.since_ms(window, fp[1]))
                    ids = await asyncio.to_thread(self.reader.identities, network)
                    out = await loop.run_in_executor(self.executor, _child, key, fp, task, params, self.cfg, None, ids)
        assert isinstance(out, dict)
        return out

    async def _send_rows(self, key: tuple[str, str], network: str, since_ms: int) -> int:
        """Read the window's stored flows page by page and stage them in the child; rows sent."""
        loop = asyncio.get_running_loop()
        offset = 0
        while True:
            page = await asyncio.to_thread(self.reader.flows_since, network, since_ms, PAGE_ROWS, offset)
            await loop.run_in_executor(self.executor, _stage, key, page, offset == 0)
            offset += len(page)
            if len(page) < PAGE_ROWS:
                return offset

    def close(self) -> None:
        """Stop the child process (only when this runner created it)."""
        if self._own:
            self.executor.shutdown(wait=False, cancel_futures=True)
