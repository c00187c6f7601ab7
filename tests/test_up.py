"""`valuenet up`: worker + in-process API on embedded chdb, replay, dashboard numbers, the CLI beside it, SIGINT stops it all."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import networkx as nx
import psutil
import pytest

from tests.pipeline_harness import ROOT
from tests.processes import free_port, ignore_sigint, spawn, stop
from tests.test_pipeline_e2e import expected_edges, plain_records
from valuenet.kafka_admin import ensure_topics

pytestmark = pytest.mark.kafka


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "valuenet.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def _values(rows: list[dict]) -> list[dict]:
    """Rows without the tick time (a later tick of the same graph gives the same values)."""
    return [{k: v for k, v in r.items() if k != "computed_at"} for r in rows]


def test_up_runs_the_pipeline_and_serves_the_dashboard(kafka_bootstrap: str, tmp_path) -> None:
    """`valuenet up` started as from a script (SIGINT ignored); the README's CLI examples beside it; `kill -INT` stops all."""
    records = plain_records(150)
    sample = tmp_path / "sample.jsonl.gz"
    with gzip.open(sample, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    port = free_port()
    prefix = f"up{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "VALUENET_HOME": str(tmp_path / "home"),
        "VALUENET_API_PORT": str(port),
        "VALUENET_TOPIC_PREFIX": prefix,
        "VALUENET_APP_ID": prefix,
        "VALUENET_WINDOWS": '["3650d"]',
        "VALUENET_TICK_SECONDS": "0.5",
    }
    env.pop("CLICKHOUSE_URL", None)
    env.pop("VALUENET_CHDB_PATH", None)
    cli_env = {k: v for k, v in env.items() if k != "VALUENET_WINDOWS"}  # the CLI's own defaults (1h, 24h, 7d)
    base = f"http://127.0.0.1:{port}"
    up_cmd = [sys.executable, "-m", "valuenet.cli", "up", "--sample", str(sample), "--network", "demo", "--rate", "0"]
    with spawn(
        [*up_cmd, "--no-demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ignore_sigint,
    ) as up:
        g = nx.DiGraph()
        g.add_edges_from((f"git:{a}", f"git:{b}") for a, b, _ in expected_edges(records))
        deadline = time.monotonic() + 180
        actors = None
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"{base}/api/metrics/network", params={"network": "demo", "window": "3650d"}, timeout=2)
                if r.status_code == 200 and r.json().get("metrics"):
                    actors = r.json()["metrics"][0]["actors"]
                    if actors == g.number_of_nodes():
                        break
            except httpx.HTTPError:
                pass
            assert up.poll() is None, up.stdout.read() if up.stdout else ""
            time.sleep(1)
        assert actors == g.number_of_nodes()
        page = httpx.get(base + "/", timeout=5)
        assert page.status_code == 200 and "valuenet" in page.text

        # the README's examples while `up` holds the embedded store: answered by its API, same rows
        top = _cli(cli_env, "top", "--metric", "pagerank", "--network", "demo", "--window", "3650d", "--json")
        assert top.returncode == 0 and "Traceback" not in top.stderr, top.stderr
        assert f"answered by the running service at {base}" in top.stderr
        api = httpx.get(
            f"{base}/api/metrics/actors",
            params={"network": "demo", "window": "3650d", "metric": "pagerank"},
            timeout=10,
        ).json()["actors"]
        assert _values(json.loads(top.stdout)) == _values(api) and len(api) == 10
        tunnels = _cli(cli_env, "tunnels", "--network", "demo", "--window", "3650d")
        assert tunnels.returncode == 0 and "unknown" in tunnels.stdout and "Traceback" not in tunnels.stderr
        out = tmp_path / "net.graphml"
        export = _cli(
            cli_env, "export", "--what", "graph", "--window", "3650d", "--format", "graphml", "--out", str(out)
        )
        assert export.returncode == 0, export.stderr
        assert nx.read_graphml(out).number_of_nodes() == g.number_of_nodes()
        wrong = _cli(cli_env, "export", "--what", "actors", "--window", "365d", "--format", "csv", "--out", str(out))
        assert wrong.returncode == 1 and "stored windows for network 'demo': 3650d" in wrong.stderr

        worker_pid = json.loads((tmp_path / "home" / "service.json").read_text())["pid"]
        code, output = stop(up, signal.SIGINT)
    assert code == 0, output
    assert "Dashboard:" in output and f"127.0.0.1:{port}" in output
    assert "Stopped." in output and "Traceback" not in output
    assert not psutil.pid_exists(worker_pid) or psutil.Process(worker_pid).status() == psutil.STATUS_ZOMBIE
    assert not (tmp_path / "home" / "service.json").exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/healthz", timeout=2)
    log = (tmp_path / "home" / "logs" / "worker.log").read_text(errors="replace")
    assert "is overlapping" not in log  # ticks due while one runs are skipped, said once
    assert "\x1b[" not in log  # no terminal escapes in a log file
    assert "Traceback" not in log, log[-3000:]
    assert not [line for line in log.splitlines() if "ERROR" in line and "CoordinatorNotAvailable" in line]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_worker_with_api_stops_cleanly_on_signals(kafka_bootstrap: str, tmp_path, sig: int) -> None:
    """`valuenet worker --serve` started with SIGINT ignored stops on SIGINT and SIGTERM, exit 0, service file gone."""
    port = free_port()
    prefix = f"sig{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "VALUENET_HOME": str(home),
        "VALUENET_API_PORT": str(port),
        "VALUENET_TOPIC_PREFIX": prefix,
        "VALUENET_APP_ID": prefix,
    }
    env.pop("CLICKHOUSE_URL", None)
    env.pop("VALUENET_CHDB_PATH", None)
    ensure_topics(kafka_bootstrap, prefix=prefix)
    with spawn(
        [sys.executable, "-m", "valuenet.cli", "worker", "--serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ignore_sigint,
    ) as worker:
        deadline = time.monotonic() + 120
        while not (home / "service.json").exists() and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        code, output = stop(worker, sig)
    assert code == 0, output
    assert "Traceback" not in output, output
    assert not (home / "service.json").exists()
