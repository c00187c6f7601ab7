"""Batched flow inserts: rows/s of the Store on chdb and on clickhouse-server, against raw driver baselines.

    python benchmarks/bench_storage.py [--rows 200000] [--repeats 5] [--batch-size 100000] [--url clickhouse://...]

Each figure is the median over ``--repeats`` runs into an empty ``flows`` table, all
measured in this run on the same rows. Baselines (what code without the Store would do):

- chdb raw JSONEachRow: ``json.dumps`` each (already plain) row, ``INSERT ... FORMAT JSONEachRow``;
- chdb engine only: one pre-built Arrow IPC stream sent with ``send_insert`` (no Python work timed);
- server raw driver: ``client.execute("INSERT INTO flows (cols) VALUES", rows)`` with the plain dicts
  (baseline), with pre-built tuples (the driver's fastest row input) and columnar with pre-built
  column lists (``columnar=True``: what the Store sends, minus building the columns).

The Store figures include validation, datetime conversion and ``_ms`` derivation.
Without ``--url`` a private clickhouse-server is started on free ports.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa

from tests.test_storage import make_flows
from valuenet.analytics.storage.base import Store
from valuenet.analytics.storage.chdb_store import ChdbStore
from valuenet.analytics.storage.rows import prepare_batch
from valuenet.analytics.storage.server_store import ServerStore
from valuenet.analytics.storage.tables import table_spec
from valuenet.localstack.clickhouse_server import ClickHouseServer


def plain_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with epoch seconds, ``_ms`` columns and enum values: what a raw insert would be handed."""
    out = []
    for r in rows:
        p = {k: (v.value if hasattr(v, "value") else v) for k, v in r.items()}
        p["timestamp_ms"] = int(r["timestamp"].timestamp() * 1000)
        p["timestamp"] = p["timestamp_ms"] // 1000
        out.append(p)
    return out


def reset_flows(store: Store) -> None:
    """An empty flows table."""
    store.query("DROP TABLE IF EXISTS flows")
    store.query(table_spec("flows").statement)


Method = tuple[str, Callable[[], None]]


def measure(
    backend: str, methods: list[Method], n: int, repeats: int, reset: Callable[[], None], check: Callable[[], int]
) -> list[tuple[str, str, float]]:
    """Median rows/s of each method; repeats are interleaved (round-robin) so load drifts hit all alike."""
    rates: dict[str, list[float]] = {name: [] for name, _ in methods}
    for i in range(repeats):
        for name, run in methods:
            reset()
            t0 = time.perf_counter()
            run()
            elapsed = time.perf_counter() - t0
            got = check()
            if got != n:
                raise SystemExit(f"{backend} {name}: expected {n} rows, found {got}")
            rates[name].append(n / elapsed)
            print(f"  {backend:<6} {name:<34} run {i + 1}/{repeats}: {n / elapsed:>12,.0f} rows/s", flush=True)
    return [(backend, name, statistics.median(r)) for name, r in rates.items()]


def bench_chdb(
    models: list, rows: list[dict], plain: list[dict], args: argparse.Namespace
) -> list[tuple[str, str, float]]:
    """Store vs raw chdb inserts."""
    n = len(rows)
    spec = table_spec("flows")
    cols = ", ".join(spec.column_names)
    with tempfile.TemporaryDirectory(prefix="bench-chdb-") as d:
        store = ChdbStore(Path(d), database="bench", batch_size=args.batch_size)
        store.setup()
        session = store.session
        count = lambda: store.count("flows")  # noqa: E731
        reset = lambda: reset_flows(store)  # noqa: E731
        batch = prepare_batch("flows", rows)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as w:
            w.write_table(batch)
        ipc = sink.getvalue()

        def raw_json() -> None:
            for s in range(0, n, args.batch_size):
                body = "\n".join(map(json.dumps, plain[s : s + args.batch_size]))
                session.query(f"INSERT INTO bench.flows ({cols}) FORMAT JSONEachRow\n{body}")

        def engine_only() -> None:
            with session.send_insert(f"INSERT INTO bench.flows ({cols})", "ArrowStream") as ins:
                ins.append(memoryview(ipc))
                ins.finish()

        results = measure(
            "chdb",
            [
                ("raw JSONEachRow (baseline)", raw_json),
                ("engine only, pre-built Arrow", engine_only),
                ("Store.write(rows)", lambda: store.write("flows", rows)),
                ("Store.write_models(flows)", lambda: store.write_models("flows", models)),
            ],
            n,
            args.repeats,
            reset,
            count,
        )
        store.close()
    return results


def bench_server(
    url: str, models: list, rows: list[dict], plain: list[dict], args: argparse.Namespace
) -> list[tuple[str, str, float]]:
    """Store vs raw clickhouse-driver inserts."""
    n = len(rows)
    spec = table_spec("flows")
    store = ServerStore(url, database="bench", batch_size=args.batch_size)
    store.setup()
    client = store.client
    tuples = [tuple(r[c] for c in spec.column_names) for r in plain]
    statement = f"INSERT INTO flows ({', '.join(spec.column_names)}) VALUES"
    count = lambda: store.count("flows")  # noqa: E731
    reset = lambda: reset_flows(store)  # noqa: E731

    def raw_dicts() -> None:
        for s in range(0, n, args.batch_size):
            client.execute(statement, plain[s : s + args.batch_size])

    def raw_tuples() -> None:
        for s in range(0, n, args.batch_size):
            client.execute(statement, tuples[s : s + args.batch_size])

    columns = [list(c) for c in zip(*tuples, strict=True)]

    def raw_columnar() -> None:
        for s in range(0, n, args.batch_size):
            client.execute(statement, [c[s : s + args.batch_size] for c in columns], columnar=True)

    results = measure(
        "server",
        [
            ("raw clickhouse-driver, dicts (baseline)", raw_dicts),
            ("raw clickhouse-driver, pre-built tuples", raw_tuples),
            ("raw clickhouse-driver columnar, pre-built columns", raw_columnar),
            ("Store.write(rows)", lambda: store.write("flows", rows)),
            ("Store.write_models(flows)", lambda: store.write_models("flows", models)),
        ],
        n,
        args.repeats,
        reset,
        count,
    )
    store.query("DROP DATABASE bench")
    store.close()
    return results


def main() -> None:
    """Run both backends and print the summary table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100_000)
    parser.add_argument("--url", help="existing ClickHouse server (default: start a private clickhouse-server)")
    args = parser.parse_args()

    print(f"building {args.rows:,} flows", flush=True)
    models = make_flows(args.rows)
    rows = [dict(f.__dict__) for f in models]
    plain = plain_rows(rows)

    results = bench_chdb(models, rows, plain, args)
    if args.url:
        results += bench_server(args.url, models, rows, plain, args)
    else:
        with ClickHouseServer() as url:
            results += bench_server(url, models, rows, plain, args)

    baselines = {backend: rate for backend, what, rate in results if "baseline" in what}
    print(f"\nflows, {args.rows:,} rows, batch {args.batch_size:,}, median of {args.repeats}")
    print("| backend | insert path | rows/s | × baseline |\n|---|---|---:|---:|")
    for backend, what, rate in results:
        print(f"| {backend} | {what} | {rate:,.0f} | {rate / baselines[backend]:.2f} |")


if __name__ == "__main__":
    main()
