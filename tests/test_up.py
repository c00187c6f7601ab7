"""`valuenet up`: worker + in-process API on embedded chdb, replay, dashboard numbers, Ctrl-C stops it all."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import networkx as nx
import pytest

from tests.pipeline_harness import ROOT
from tests.test_pipeline_e2e import expected_edges, plain_records

pytestmark = pytest.mark.kafka


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_up_runs_the_pipeline_and_serves_the_dashboard(kafka_bootstrap: str, tmp_path) -> None:
    records = plain_records(150)
    sample = tmp_path / "sample.jsonl.gz"
    with gzip.open(sample, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    port = _free_port()
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
    up = subprocess.Popen(
        [sys.executable, "-m", "valuenet.cli", "up", "--sample", str(sample), "--network", "demo", "--rate", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
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
            assert up.poll() is None, up.stdout.read()
            time.sleep(1)
        assert actors == g.number_of_nodes()
        page = httpx.get(base + "/", timeout=5)
        assert page.status_code == 200 and "valuenet" in page.text
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=90)
    assert up.returncode == 0, out
    assert "Dashboard:" in out and f"127.0.0.1:{port}" in out
    assert "Stopped." in out
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/healthz", timeout=2)
