"""Batched inserts of flows and interactions: rows/s of the Store on chdb and on clickhouse-server, against raw baselines.

    python benchmarks/bench_storage.py [--rows 100000] [--repeats 3] [--batch-size 100000] [--tables flows,interactions]
                                       [--backends chdb,server] [--url clickhouse://...] [--old-native REF]

Each figure is the median over ``--repeats`` runs into an empty table, every path measured in this
run on the same models, repeats interleaved (round robin) so load drifts hit all paths alike.

- ``Store.write_models`` (the column path: what ``sink.write("flows", flows)`` runs): model attributes
  → columns → validated Arrow → chdb as an Arrow IPC stream / → column lists → the server through
  clickhouse-driver's public columnar insert (validated only if the driver refuses a batch);
- ``Store.write(rows)`` (the row path): the models' row dicts, column lists built from the dicts
  (clickhouse-driver encodes them on the server; Arrow for chdb);
- baselines, nothing built in Python while timed: chdb **engine alone fed a pre-built Arrow IPC
  stream** (the Store's choice; beside it the engine fed pre-built in-memory Parquet and chdb's
  ``Python(arrow_table)`` table function); server **raw clickhouse-driver columnar insert of pre-built column lists**
  (``columnar=True``, ``types_check=False``: what a hand-written client sends at best with the driver), and
  beside it the driver's ``use_numpy`` mode fed pre-built numpy arrays (it has no numpy Enum8 or
  Nullable fast path: those stay per-value Python);
- with ``--old-native REF`` (e.g. ``25d0ca0``), on the server: the removed ``analytics/storage/native.py``
  read from git at REF — models → validated Arrow → Native columns built with numpy, written into
  clickhouse-driver's private INSERT exchange (works with clickhouse-driver 0.2.11 only); it lives
  nowhere but in this run, for the comparison.

Besides wall-clock rows/s it reports rows per CPU-second (this process; plus the private server's
CPU, read with psutil, on the server), since the 2 cores are shared. Without ``--url`` a private
clickhouse-server is started on free ports.
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
from clickhouse_driver import Client
from pydantic import BaseModel

from tests.test_storage import T0, make_flows
from valuenet.analytics.storage.base import Store
from valuenet.analytics.storage.chdb_store import ChdbStore
from valuenet.analytics.storage.rows import models_to_rows, prepare_batch, prepare_columns, prepare_model_batch
from valuenet.analytics.storage.server_store import ServerStore, with_database
from valuenet.analytics.storage.tables import table_spec
from valuenet.localstack.clickhouse_server import ClickHouseServer
from valuenet.schemas import Interaction, Kind, Source


def make_interactions(n: int) -> list[Interaction]:
    """``n`` interactions shaped like a chat's: text, thread, parent, some metadata."""
    kinds = [Kind.post, Kind.reply, Kind.mention, Kind.reaction]
    return [
        Interaction(
            event_id=f"slack-{i}",
            network="acme",
            source=Source.slack,
            kind=kinds[i % 4],
            timestamp=T0 + timedelta(milliseconds=37 * i),
            actor=f"U{i % 997:05d}",
            target=None if i % 4 == 0 else f"U{(i * 7) % 997:05d}",
            channel=f"#team-{i % 17}",
            thread=f"t-{i // 20}",
            parent_id=None if i % 4 == 0 else f"slack-{i - 1}",
            text=f"message {i}: could someone look at the deploy of service {i % 31}? ✓",
            language="en",
            actor_name=f"Person {i % 997}",
            actor_domain="acme.example" if i % 3 else None,
            actor_followers=None,
            metadata={} if i % 5 else {"edited": True, "reactions": i % 7},
        )
        for i in range(n)
    ]


MODELS: dict[str, Callable[[int], list[Any]]] = {"flows": make_flows, "interactions": make_interactions}


@dataclass
class Result:
    """One path's runs: wall seconds, this process's CPU seconds, the server's CPU seconds."""

    backend: str
    table: str
    path: str
    baseline: bool = False
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)


def _cpu(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    t = process.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def measure(
    backend: str,
    table: str,
    methods: list[tuple[str, bool, Callable[[], None]]],
    n: int,
    repeats: int,
    store: Store,
    server: psutil.Process | None,
) -> list[Result]:
    """Each method ``repeats`` times into an emptied table, round robin; checks the row count after each run."""
    results = [Result(backend, table, name, baseline) for name, baseline, _ in methods]
    for i in range(repeats):
        for result, (name, _, run) in zip(results, methods, strict=True):
            store.query(f"DROP TABLE IF EXISTS {table}")
            store.query(table_spec(table).statement)
            time.sleep(0.2)  # let the server settle after the DDL
            s0, c0, t0 = _cpu(server), time.process_time(), time.perf_counter()
            run()
            wall, cpu, server_cpu = time.perf_counter() - t0, time.process_time() - c0, _cpu(server) - s0
            got = store.count(table)
            if got != n:
                raise SystemExit(f"{backend} {table} {name}: expected {n} rows, found {got}")
            result.wall.append(wall)
            result.cpu.append(cpu)
            result.server_cpu.append(server_cpu)
            print(
                f"  {backend:<6} {table:<12} {name:<52} run {i + 1}/{repeats}: {n / wall:>10,.0f} rows/s"
                f"  ({n / (cpu + server_cpu):>10,.0f} rows/CPU-s)",
                flush=True,
            )
    return results


def bench_chdb(models: dict[str, list[BaseModel]], args: argparse.Namespace) -> list[Result]:
    """Store paths vs the engine fed pre-built Arrow, in one chdb session."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-chdb-") as d:
        store = ChdbStore(Path(d), database="bench", batch_size=args.batch_size)
        store.setup()
        for table, batch in models.items():
            n = len(batch)
            cols = ", ".join(table_spec(table).column_names)
            rows = models_to_rows(table, batch)
            streams = []  # one pre-built Arrow IPC stream per insert of batch_size rows
            for s in range(0, n, args.batch_size):
                sink = pa.BufferOutputStream()
                arrow = prepare_batch(table, rows[s : s + args.batch_size])
                with pa.ipc.new_stream(sink, arrow.schema) as w:
                    w.write_table(arrow)
                streams.append(sink.getvalue())

            def engine_only(table: str = table, cols: str = cols, streams: list[pa.Buffer] = streams) -> None:
                for ipc in streams:
                    with store.session.send_insert(f"INSERT INTO bench.{table} ({cols})", "ArrowStream") as ins:
                        ins.append(memoryview(ipc))
                        ins.finish()

            tables = [prepare_batch(table, rows[s : s + args.batch_size]) for s in range(0, n, args.batch_size)]
            parquets = []
            for arrow in tables:
                out = io.BytesIO()
                pq.write_table(arrow, out, compression="none")
                parquets.append(out.getvalue())

            def engine_parquet(table: str = table, cols: str = cols, parquets: list[bytes] = parquets) -> None:
                for data in parquets:
                    with store.session.send_insert(f"INSERT INTO bench.{table} ({cols})", "Parquet") as ins:
                        ins.append(memoryview(data))
                        ins.finish()

            def engine_python(table: str = table, cols: str = cols, tables: list[pa.Table] = tables) -> None:
                for arrow in tables:  # noqa: B007  chdb's Python() table function reads the local `arrow`
                    store.session.query(f"INSERT INTO bench.{table} ({cols}) SELECT {cols} FROM Python(arrow)")

            methods = [
                ("engine alone, pre-built Arrow IPC (baseline)", True, engine_only),
                ("engine alone, pre-built Parquet in memory", False, engine_parquet),
                ("engine alone, Python(arrow_table) table function", False, engine_python),
                ("Store.write_models (column path)", False, lambda t=table, b=batch: store.write_models(t, b)),
                ("Store.write(row dicts) (row path)", False, lambda t=table, r=rows: store.write(t, r)),
            ]
            results += measure("chdb", table, methods, n, args.repeats, store, None)
        store.close()
    return results


def old_native(ref: str) -> types.ModuleType:
    """``analytics/storage/native.py`` as it was at ``ref`` (git history), loaded as a throwaway module."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "-C", str(root), "show", f"{ref}:analytics/storage/native.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("old_native")
    exec(compile(source, f"{ref}:analytics/storage/native.py", "exec"), module.__dict__)
    return module


def bench_server(url: str, models: dict[str, list[BaseModel]], args: argparse.Namespace) -> list[Result]:
    """Store paths vs raw clickhouse-driver columnar inserts of pre-built column lists."""
    server = None
    if not args.url:  # our private server: a child of this process
        server = next(p for p in psutil.Process().children(recursive=True) if "clickhouse" in p.name())
    store = ServerStore(url, database="bench", batch_size=args.batch_size)
    store.setup()
    client = store.client
    parts = urlsplit(with_database(url, "bench"))
    query = "&".join(q for q in (parts.query, "use_numpy=1") if q)
    numpy_client = Client.from_url(urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")))
    logging.getLogger("clickhouse_driver.columns.service").setLevel(logging.ERROR)  # "no numpy Enum8" notices
    native = old_native(args.old_native) if args.old_native else None
    results: list[Result] = []
    for table, batch in models.items():
        n = len(batch)
        statement = f"INSERT INTO {table} ({', '.join(table_spec(table).column_names)}) VALUES"
        rows = models_to_rows(table, batch)
        columns = prepare_columns(table, rows)

        def raw_columnar(statement: str = statement, columns: list = columns) -> None:
            for s in range(0, len(columns[0]), args.batch_size):
                # fresh lists: the driver rewrites Nullable / Enum / DateTime columns in place
                client.execute(statement, [c[s : s + args.batch_size] for c in columns], columnar=True)

        arrays = [  # use_numpy: numpy arrays (object arrays where the driver has no numpy column: String, Enum8)
            np.array(c, dtype=object) if (t.base_type == "String" or t.base_type.startswith("Enum8")) else np.array(c)
            for t, c in zip(table_spec(table).columns, columns, strict=True)
        ]

        def raw_numpy(statement: str = statement, arrays: list[np.ndarray] = arrays) -> None:
            for s in range(0, len(arrays[0]), args.batch_size):
                numpy_client.execute(statement, [a[s : s + args.batch_size].copy() for a in arrays], columnar=True)

        methods = [
            ("raw clickhouse-driver columnar, pre-built columns (baseline)", True, raw_columnar),
            ("raw clickhouse-driver columnar use_numpy, pre-built arrays", False, raw_numpy),
            ("Store.write_models (column path)", False, lambda t=table, b=batch: store.write_models(t, b)),
            ("Store.write(row dicts) (row path)", False, lambda t=table, r=rows: store.write(t, r)),
        ]
        if native is not None:

            def old_path(table: str = table, statement: str = statement, batch: list[BaseModel] = batch) -> None:
                for s in range(0, len(batch), args.batch_size):  # what Store.write_models ran at --old-native
                    native.insert_native(client, statement, prepare_model_batch(table, batch[s : s + args.batch_size]))

            methods.append((f"native.py at {args.old_native} (private INSERT exchange)", False, old_path))
        results += measure("server", table, methods, n, args.repeats, store, server)
    numpy_client.disconnect()
    store.query("DROP DATABASE bench")
    store.close()
    return results


def main() -> None:
    """Run both backends and print the summary table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100_000)
    parser.add_argument("--tables", default="flows,interactions", help="comma-separated: flows, interactions")
    parser.add_argument("--backends", default="chdb,server", help="comma-separated: chdb, server")
    parser.add_argument("--url", help="existing ClickHouse server (default: start a private clickhouse-server)")
    parser.add_argument("--old-native", metavar="REF", help="also time the removed native.py as of git REF (server)")
    args = parser.parse_args()

    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    print(f"building {args.rows:,} models of {', '.join(tables)}", flush=True)
    models = {t: MODELS[t](args.rows) for t in tables}

    backends = {b.strip() for b in args.backends.split(",")}
    results = bench_chdb(models, args) if "chdb" in backends else []
    if "server" not in backends:
        pass
    elif args.url:
        results += bench_server(args.url, models, args)
    else:
        with ClickHouseServer() as url:
            results += bench_server(url, models, args)

    n = args.rows
    print(f"\n{n:,} rows per table, batch {args.batch_size:,}, median of {args.repeats}, load average {_load()}")
    print(
        "| backend | table | insert path | rows/s | × baseline | rows per CPU-second | CPU ms: this process + server |"
        "\n|---|---|---|---:|---:|---:|---:|"
    )
    for r in results:
        base = next(b for b in results if b.baseline and (b.backend, b.table) == (r.backend, r.table))
        rate = n / statistics.median(r.wall)
        cpu = statistics.median(c + s for c, s in zip(r.cpu, r.server_cpu, strict=True))
        print(
            f"| {r.backend} | {r.table} | {r.path} | {rate:,.0f} | {rate / (n / statistics.median(base.wall)):.2f} "
            f"| {n / cpu:,.0f} | {statistics.median(r.cpu) * 1000:,.0f} + {statistics.median(r.server_cpu) * 1000:,.0f} |"
        )


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in psutil.getloadavg())


if __name__ == "__main__":
    main()
