"""Chaos run: a clean pipeline run vs runs with each poison kind injected mid-stream and with SIGKILLs.

Uses its OWN broker (``VALUENET_CHAOS_KAFKA_PORT``, default 29092, own ``VALUENET_HOME``) and its own
clickhouse-server, because it kills them. Every run gets its own topics, consumer group and
database, one worker, the same valid git commits produced at a steady pace, and one fault:

- poison kinds (``tests/chaos_kit.py``): deep nesting, lone surrogates inside a packed batch,
  a 900 KB record, wrong-shape JSON on raw and on flows, future and ancient timestamps,
  the same event ids in a second network, a valid Bluesky reply whose flows made a 1.29 MB record;
- SIGKILL of the worker (with and without a static ``VALUENET_WORKER_ID``), of the broker and of
  the ClickHouse server, mid-stream, then a restart;
- ``replay-outage``: the broker stopped for 150 s while ``valuenet ingest replay`` sends the records
  (longer than kafka-python's default 120 s delivery timeout): the replay must wait it out and exit 0.
- a full disk under a worker on embedded chdb (a tmpfs the run mounts, as root) for 20 s: writes
  block with offsets held, then resume (``tests/test_store_full.py`` in CI).

Pass = 0 valid flows lost (stored event ids vs the clean run's, plus what the pipeline repairs),
0 duplicated (sum of out-strengths in the latest snapshot == stored flows with a receiver; and
the final per-actor metrics equal the clean run's), every poison record dead-lettered, no stall
(everything stored within the timeout). Recovery = seconds from the killed part being back to the
first new flow stored. Prints a table (markdown) and exits 1 if a run fails.

    .venv/bin/python benchmarks/chaos.py [--records 3000] [--only "deep nesting"]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.chaos_kit import (  # noqa: E402
    NETWORK,
    POISONS,
    TWIN,
    Poison,
    expected_ids,
    inject,
    produce_paced,
    stored_ids,
)
from tests.pipeline_harness import Pipeline, envelope, git_records  # noqa: E402
from tests.test_pipeline_reliability import edge_counts, final_metrics, stored_strength  # noqa: E402
from valuenet.config import Settings  # noqa: E402
from valuenet.localstack.clickhouse_server import ClickHouseServer  # noqa: E402
from valuenet.localstack.kafka import managed_pid, start_broker, stop_broker  # noqa: E402
from valuenet.pipeline.wiring import build_stage  # noqa: E402

TIMEOUT_S = 240.0


@dataclass
class Row:
    """One line of the table."""

    fault: str
    lost: int
    duplicated: int
    dead: int
    dead_expected: int
    metrics_equal: bool | None  # None: not comparable (the run has more valid flows than the clean one)
    recovery_s: float | None
    stalled: bool
    note: str = ""

    @property
    def ok(self) -> bool:
        """Pass: nothing lost or doubled, every poison dead-lettered, metrics as clean, no stall."""
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.dead >= self.dead_expected
            and self.metrics_equal is not False
            and not self.stalled
        )


class Stack:
    """The chaos run's own broker and clickhouse-server (both killable)."""

    def __init__(self, port: int) -> None:
        home = Path(os.environ.get("VALUENET_CHAOS_HOME", Path(tempfile.gettempdir()) / f"valuenet-chaos-{port}"))
        self.settings = Settings(home=home, kafka_port=port, kafka_bootstrap_servers=None)
        self.ch_dir = home / "clickhouse"
        self.ch = ClickHouseServer(self.ch_dir)

    def start(self) -> tuple[str, str]:
        """Start both; (bootstrap, clickhouse url)."""
        print(f"starting own broker on 127.0.0.1:{self.settings.kafka_port} and clickhouse-server …", flush=True)
        start_broker(self.settings)
        url = self.ch.start()
        return self.settings.bootstrap_servers, url

    def kill_broker(self) -> None:
        """SIGKILL the broker process."""
        pid = managed_pid(self.settings)
        assert pid, "own broker not running"
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if managed_pid(self.settings) is None:
                break
            time.sleep(0.1)

    def restart_broker(self) -> None:
        """Start the broker again on the same port and storage."""
        start_broker(self.settings)

    def kill_clickhouse(self) -> None:
        """SIGKILL clickhouse-server."""
        proc = self.ch._process
        assert proc is not None
        proc.kill()
        proc.wait(30)
        self.ch._process = None

    def restart_clickhouse(self) -> None:
        """Start clickhouse-server again (same data directory and ports)."""
        self.ch.start()

    def stop(self) -> None:
        """Stop both."""
        self.ch.stop()
        stop_broker(self.settings)


def settle(
    p: Pipeline, want: set[str], network: str = NETWORK, snapshot: bool = True, held: int = 0
) -> tuple[bool, set[str]]:
    """Wait until every wanted id is stored (no stall) and a snapshot was computed after; (stalled, ids)."""
    deadline = time.monotonic() + TIMEOUT_S
    ids: set[str] = set()
    while time.monotonic() < deadline:
        ids = stored_ids(p, network)
        if want <= ids:
            break
        time.sleep(0.5)
    else:
        return True, ids
    if not snapshot:
        return False, ids
    # the latest snapshot reflects every stored flow once (or, after a minute, the difference is reported)
    until = time.monotonic() + 60.0
    while time.monotonic() < until:
        try:
            if duplicated(p, held) == 0:
                break
        except Exception:  # noqa: BLE001 - no snapshot yet, or the server is restarting
            pass
        time.sleep(1.0)
    return False, stored_ids(p, network)


def wait_progress(p: Pipeline, before: int, since: float, timeout: float = TIMEOUT_S) -> float | None:
    """Seconds from ``since`` (monotonic) until more than ``before`` flows are stored (None: never)."""
    while time.monotonic() - since < timeout:
        if len(stored_ids(p, NETWORK)) > before:
            return time.monotonic() - since
        time.sleep(0.2)
    return None


def duplicated(p: Pipeline, held: int = 0) -> int:
    """Flows counted more than once in the latest snapshot: Σ out-strength − (stored flows with a receiver
    − ``held`` of them the jump guard holds, stored but not counted)."""
    strength, edges = stored_strength(p, NETWORK), edge_counts(p, NETWORK)
    return round(sum(strength.values()) - (sum(edges.values()) - held))


def count_errors(log: Path, since_bytes: int) -> int:
    """ERROR lines written to ``log`` after byte ``since_bytes``."""
    with open(log, "rb") as f:
        f.seek(since_bytes)
        return sum(1 for line in f if b"[ERROR]" in line)


class Chaos:
    """Runs one pipeline per fault against the same valid records and compares with the clean run."""

    def __init__(self, stack: Stack, bootstrap: str, ch_url: str, records: int, work: Path) -> None:
        self.stack, self.bootstrap, self.ch_url, self.work = stack, bootstrap, ch_url, work
        self.valid = [envelope("git", NETWORK, c) for c in git_records(records)]
        self.clean_ids: set[str] = set()
        self.clean_metrics: dict = {}

    def pipeline(self, name: str, **env: str) -> Pipeline:
        """A fresh pipeline (own topics, group, database) with one worker."""
        home = self.work / name.replace(" ", "-").replace("+", "and")
        home.mkdir(parents=True, exist_ok=True)
        p = Pipeline(self.bootstrap, self.ch_url, home)
        p.env.update(env)
        p.expected_exits = (70,)
        return p

    def clean(self) -> Row:
        """The reference run: valid records only."""
        p = self.pipeline("clean")
        try:
            p.start_worker("w")
            produce_paced(p, self.valid, NETWORK)
            stalled, ids = settle(p, expected_ids(build_stage(), self.valid))
            self.clean_ids, self.clean_metrics = ids, final_metrics(p, NETWORK)
            return Row("none (clean run)", 0, duplicated(p), 0, 0, True, None, stalled, f"{len(ids)} flows")
        finally:
            p.close()

    def poison(self, kind: str) -> Row:
        """Valid records with one poison kind injected mid-stream."""
        half = len(self.valid) // 2
        if kind in (
            "surrogates in packed batch",
            "oversized Bluesky reply",
            "flow the store refuses",
        ):  # dated like the records around it
            poison: Poison = POISONS[kind](NETWORK, json.loads(self.valid[half - 1])["payload"]["committed_at"])
        else:
            poison = POISONS[kind](NETWORK)
        p = self.pipeline(kind)
        try:
            p.start_worker("w")
            produce_paced(p, self.valid[:half], NETWORK)
            inject(p, poison, NETWORK)
            produce_paced(p, self.valid[half:], NETWORK)
            extra = expected_ids(build_stage(), poison.raw)  # what the pipeline repairs rather than rejects
            want = self.clean_ids | extra
            held_flows = build_stage().process(poison.raw).flows if poison.held else []
            held_edges = sum(1 for f in held_flows if f.receiver is not None and f.receiver != f.giver)
            stalled, ids = settle(p, want, held=held_edges)
            dead = (
                p.consume("dlq", expect=poison.dead, timeout=30)
                if poison.dead
                else p.consume("dlq", expect=1, timeout=3)
            )
            note = f"+{len(extra)} repaired" if extra else ""
            if poison.twin:
                twin_want = expected_ids(build_stage(), poison.twin)
                twin_stalled, twin_ids = settle(p, twin_want, TWIN, snapshot=False)
                stalled = stalled or twin_stalled
                lost_twin = len(twin_want - twin_ids)
                note = f"{len(twin_ids)} flows in the twin network, {lost_twin} lost"
                want = want | {f"{TWIN}:{i}" for i in twin_want - twin_ids}  # count twin losses as lost
            if poison.held:  # stored, held by the jump guard: the metrics must equal the clean run's
                note = f"{len(held_flows)} flows held (stored, not counted)"
            metrics_equal = final_metrics(p, NETWORK) == self.clean_metrics if not extra or poison.held else None
            dup = duplicated(p, held_edges)
            return Row(kind, len(want - ids), dup, len(dead), poison.dead, metrics_equal, None, stalled, note)
        finally:
            p.close()

    def replay_outage(self, outage_s: float = 150.0) -> Row:
        """``valuenet ingest replay`` of the valid records with the broker down ``outage_s`` s mid-replay."""
        p = self.pipeline("replay-outage")
        source = p.home / "commits.jsonl.gz"
        with gzip.open(source, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(json.loads(v)["payload"]) + "\n" for v in self.valid)
        cli = [sys.executable, "-m", "valuenet.cli", "ingest", "replay", str(source), "--source", "git"]
        cli += ["--network", NETWORK, "--rate", "100", "--json"]
        try:
            p.start_worker("w")
            replay = subprocess.Popen(cli, env=p.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                p.wait_for(lambda: len(stored_ids(p, NETWORK)), lambda n: n > 0)
                stop_broker(self.stack.settings)
                time.sleep(outage_s)
                start_broker(self.stack.settings)
                back = time.monotonic()
                out, err = replay.communicate(timeout=TIMEOUT_S)
            finally:
                if replay.poll() is None:
                    replay.kill()
                    replay.wait()
            recovery = wait_progress(p, 0, back)
            stalled, ids = settle(p, self.clean_ids)
            note = f"replay exit {replay.returncode}"
            if replay.returncode == 0:
                note += f", Kafka acknowledged {json.loads(out)['delivered']} of {len(self.valid)}"
            else:
                note += ": " + (err.strip().splitlines() or ["?"])[-1][:200]
            equal = final_metrics(p, NETWORK) == self.clean_metrics
            dead = p.consume("dlq", expect=1, timeout=3)
            name = f"broker down {outage_s:.0f} s during replay"
            lost = len(self.clean_ids - ids)
            return Row(name, lost, duplicated(p), len(dead), 0, equal, recovery, stalled, note)
        finally:
            p.close()

    def kill(self, what: str) -> Row:
        """SIGKILL ``what`` (worker, worker-static, broker, clickhouse) mid-stream, restart it, measure."""
        env = {"VALUENET_WORKER_ID": "chaos-w1"} if what == "worker-static" else {}
        p = self.pipeline(f"kill-{what}", **env)
        note = ""
        try:
            worker = p.start_worker("w")
            third = len(self.valid) // 3
            produce_paced(p, self.valid[:third], NETWORK)
            p.wait_for(lambda: len(stored_ids(p, NETWORK)), lambda n: n > 0)
            p._producer.flush()
            time.sleep(1.0)  # let the first third land, so progress after the fault is new work
            before = len(stored_ids(p, NETWORK))
            if what.startswith("worker"):
                p.kill(worker, signal.SIGKILL)
                produce_paced(p, self.valid[third:], NETWORK)  # arrives while no worker runs
                before = len(stored_ids(p, NETWORK))
                back = time.monotonic()
                p.start_worker("w-restarted")
                recovery = wait_progress(p, before, back)
            elif what == "broker":
                p._producer.flush()
                log = p.home / "w.log"
                mark = log.stat().st_size
                self.stack.kill_broker()
                time.sleep(30.0)  # an outage the worker must sit through calmly
                errors = count_errors(log, mark)
                self.stack.restart_broker()
                back = time.monotonic()
                note = f"{errors} ERROR log lines in the 30 s outage"
                produce_paced(p, self.valid[third:], NETWORK)
                recovery = wait_progress(p, before, back)
            else:  # clickhouse
                self.stack.kill_clickhouse()
                produce_paced(p, self.valid[third:], NETWORK)  # Kafka is up: the worker must wait for the store
                time.sleep(10.0)
                self.stack.restart_clickhouse()
                recovery = wait_progress(p, before, time.monotonic())
            stalled, ids = settle(p, self.clean_ids)
            dup = duplicated(p)
            equal = final_metrics(p, NETWORK) == self.clean_metrics
            dead = p.consume("dlq", expect=1, timeout=3)
            name = {"worker": "SIGKILL worker", "worker-static": "SIGKILL worker (static id)"}.get(
                what, f"SIGKILL {what}"
            )
            return Row(name, len(self.clean_ids - ids), dup, len(dead), 0, equal, recovery, stalled, note)
        finally:
            p.close()

    def disk_full(self) -> Row:
        """A worker on embedded chdb whose disk (a tmpfs) fills mid-stream for 20 s, then frees (issue 25)."""
        from tests.smallfs import small_filesystem
        from tests.test_store_full import ChdbWorker

        home = self.work / "disk-full"
        home.mkdir(parents=True, exist_ok=True)
        with small_filesystem(home / "chdbfs", mib=128) as fs:
            w = ChdbWorker(self.bootstrap, home, fs.path / "chdb", None if fs.real else fs.marker)
            try:
                w.wait_for(w.health, lambda h: h[0] == 200 and h[1].get("kafka"))
                third = len(self.valid) // 3
                w.produce(self.valid[:third], NETWORK)
                w.wait_for(lambda: w.metric("valuenet_store_rows", 'table="flows"'), lambda n: (n or 0) > 0)
                fs.fill()
                w.produce(self.valid[third:], NETWORK)
                code, body = w.wait_for(w.health, lambda h: h[0] == 503, timeout=TIMEOUT_S)
                time.sleep(20.0)  # a full disk the worker must sit through
                held = w.offsets()
                held_ok = all(done < end for done, end in held.values())
                stored_while_full = w.metric("valuenet_store_rows", 'table="flows"') or 0
                fs.free()
                back = time.monotonic()
                w.wait_for(
                    lambda: w.metric("valuenet_store_rows", 'table="flows"'), lambda n: (n or 0) > stored_while_full
                )
                recovery = time.monotonic() - back
                stalled = False
                try:
                    w.wait_for(
                        lambda: w.metric("valuenet_store_rows", 'table="flows"'),
                        lambda n: (n or 0) >= len(self.clean_ids),
                        timeout=TIMEOUT_S,
                    )
                except AssertionError:
                    stalled = True
                time.sleep(5.0)  # the last ticks, then a clean stop
                os.killpg(w.proc.pid, signal.SIGTERM)
                w.proc.wait(120)
                errors = len(
                    re.findall(r"\[ERROR\] store writes (?:still )?blocked", w.log.read_text(errors="replace"))
                )
                got = w.read_back(NETWORK)[NETWORK]
                ids = set(got["ids"])
                dup = (got["final"] - len(ids)) + round((got["strength"] or 0) - got["valued"])
                dead = w.records("dlq", NETWORK)
                note = (
                    f"{fs.kind}; /healthz 503 ({body['store_blocked']['reason']}), {errors} ERROR lines, "
                    f"offsets {'held' if held_ok else 'COMMITTED'} while full; chdb (metrics not comparable)"
                )
                return Row(
                    "disk full (chdb, 20 s)",
                    len(self.clean_ids - ids),
                    dup,
                    len(dead),
                    0,
                    None,
                    recovery,
                    stalled or not held_ok,
                    note,
                )
            finally:
                w.close()


def table(rows: list[Row]) -> str:
    """The markdown table."""
    out = [
        "| fault | lost | duplicated | dead-lettered (expected) | metrics = clean run | recovery s | stall | note |",
        "|---|---:|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        rec = f"{r.recovery_s:.1f}" if r.recovery_s is not None else "–"
        out.append(
            f"| {r.fault} | {r.lost} | {r.duplicated} | {r.dead} ({r.dead_expected}) | "
            f"{ {True: 'yes', False: 'NO', None: 'n/a'}[r.metrics_equal] } | {rec} | {'STALL' if r.stalled else 'no'} | {r.note} |"
        )
    return "\n".join(out)


def main() -> None:
    """Run the clean run, every poison kind and every kill; print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=3000, help="valid git commits per run")
    ap.add_argument(
        "--only", action="append", help="run only these faults (poison names or worker/broker/clickhouse/replay-outage)"
    )
    args = ap.parse_args()
    port = int(os.environ.get("VALUENET_CHAOS_KAFKA_PORT", "29092"))
    if port < 29092:
        raise SystemExit("the chaos run kills its broker: use a port >= 29092, never the shared test broker")
    stack = Stack(port)
    bootstrap, ch_url = stack.start()
    chaos = Chaos(stack, bootstrap, ch_url, args.records, Path(tempfile.mkdtemp(prefix="valuenet-chaos-")))
    faults = [*POISONS, "worker", "worker-static", "broker", "clickhouse", "replay-outage", "disk full"]
    if args.only:
        faults = [f for f in faults if f in args.only]
    rows: list[Row] = []
    try:
        t0 = time.monotonic()
        rows.append(chaos.clean())
        print(f"clean run: {len(chaos.clean_ids)} flows ({time.monotonic() - t0:.0f} s)", flush=True)
        for fault in faults:
            t0 = time.monotonic()
            if fault in POISONS:
                row = chaos.poison(fault)
            elif fault == "replay-outage":
                row = chaos.replay_outage()
            elif fault == "disk full":
                row = chaos.disk_full()
            else:
                row = chaos.kill(fault)
            rows.append(row)
            print(f"{row.fault}: {'PASS' if row.ok else 'FAIL'} ({time.monotonic() - t0:.0f} s)", flush=True)
    finally:
        stack.stop()
    print()
    print(table(rows))
    failed = [r.fault for r in rows if not r.ok]
    print(f"\n{len(rows) - len(failed)}/{len(rows)} runs pass" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
