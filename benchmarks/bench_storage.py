"""Batched flow inserts: rows/s of the Store on chdb and on clickhouse-server, against raw driver baselines.

    python benchmarks/bench_storage.py [--rows 200000] [--repeats 5] [--batch-size 100000] [--url clickhouse://...]

Each figure is the median over ``--repeats`` runs into an empty ``flows`` table, all
measured in this run on the same rows. Baselines (what code without the Store would do):

- chdb raw JSONEachRow: ``json.dumps`` each (already plain) row, ``INSERT ... FORMAT JSONEachRow``;
- chdb engine only: one pre-built Arrow IPC stream sent with ``send_insert`` (no Python work timed);
- server raw driver: ``client.execute("INSERT INTO flows (cols) VALUES", rows)`` with plain tuples.

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
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa  # noqa: E402

from analytics.storage.base import Store  # noqa: E402
from analytics.storage.chdb_store import ChdbStore  # noqa: E402
from analytics.storage.rows import prepare_batch  # noqa: E402
from analytics.storage.server_store import ServerStore  # noqa: E402
from analytics.storage.tables import table_spec  # noqa: E402
from tests.test_storage import make_flows  # noqa: E402
from valuenet.localstack.clickhouse_server import ClickHouseServer  # noqa: E402


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


def measure(name: str, n: int, repeats: int, reset: Callable[[], None], run: Callable[[], None],
            check: Callable[[], int]) -> float:
    """Median rows/s of ``run`` over ``repeats`` (each into an empty table); checks the row count."""
    rates = []
    for i in range(repeats):
        reset()
        t0 = time.perf_counter()
        run()
        elapsed = time.perf_counter() - t0
        got = check()
        if got != n:
            raise SystemExit(f"{name}: expected {n} rows, found {got}")
        rates.append(n / elapsed)
        print(f"  {name:<34} run {i + 1}/{repeats}: {n / elapsed:>12,.0f} rows/s", flush=True)
    return statistics.median(rates)


def bench_chdb(rows: list[dict], plain: list[dict], args: argparse.Namespace) -> list[tuple[str, str, float]]:
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
                body = "\n".join(map(json.dumps, plain[s:s + args.batch_size]))
                session.query(f"INSERT INTO bench.flows ({cols}) FORMAT JSONEachRow\n{body}")

        def engine_only() -> None:
            with session.send_insert(f"INSERT INTO bench.flows ({cols})", "ArrowStream") as ins:
                ins.append(memoryview(ipc))
                ins.finish()

        print("chdb", flush=True)
        results = [
            ("chdb", "raw JSONEachRow (baseline)", measure("raw JSONEachRow", n, args.repeats, reset, raw_json, count)),
            ("chdb", "engine only, pre-built Arrow", measure("engine only", n, args.repeats, reset, engine_only, count)),
            ("chdb", "Store.write(rows)", measure("Store.write", n, args.repeats, reset, lambda: store.write("flows", rows), count)),
        ]
        store.close()
    return results


def bench_server(url: str, rows: list[dict], plain: list[dict], args: argparse.Namespace) -> list[tuple[str, str, float]]:
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

    def raw_driver() -> None:
        for s in range(0, n, args.batch_size):
            client.execute(statement, tuples[s:s + args.batch_size])

    print("server", flush=True)
    results = [
        ("server", "raw clickhouse-driver (baseline)", measure("raw clickhouse-driver", n, args.repeats, reset, raw_driver, count)),
        ("server", "Store.write(rows)", measure("Store.write", n, args.repeats, reset, lambda: store.write("flows", rows), count)),
    ]
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
    rows = [f.__dict__ for f in make_flows(args.rows)]
    plain = plain_rows(rows)

    results = bench_chdb(rows, plain, args)
    if args.url:
        results += bench_server(args.url, rows, plain, args)
    else:
        with ClickHouseServer() as url:
            results += bench_server(url, rows, plain, args)

    baselines = {backend: rate for backend, what, rate in results if "baseline" in what}
    print(f"\nflows, {args.rows:,} rows, batch {args.batch_size:,}, median of {args.repeats}")
    print(f"| backend | insert path | rows/s | × baseline |\n|---|---|---:|---:|")
    for backend, what, rate in results:
        print(f"| {backend} | {what} | {rate:,.0f} | {rate / baselines[backend]:.2f} |")


if __name__ == "__main__":
    main()
