"""`valuenet up`'s demo: beside the replayed sample, a synthetic company fills every view of the dashboard.

A small company (100 actors, a day of history at 0.05 events/s: 4,320 events on Slack, GitHub,
Discourse, Mastodon, Bluesky and Zendesk) streams through the real pipeline next to a replayed
git sample; the dashboard's data — marketing leaderboard, responsiveness, idea pickup, alerts,
tunnels between all four segments — must be there for the company network, and the sample's
network must be there too.
"""

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
from pathlib import Path

import httpx
import pytest

from tests.pipeline_harness import ROOT
from tests.processes import spawn, stop
from tests.test_pipeline_e2e import plain_records
from valuenet.commands.pipeline import DEMO_NETWORK

pytestmark = pytest.mark.kafka


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(base: str, path: str, **params: str) -> dict:
    r = httpx.get(base + path, params=params, timeout=10)
    r.raise_for_status()
    return r.json()


def test_up_demo_fills_every_view(kafka_bootstrap: str, tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl.gz"
    with gzip.open(sample, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in plain_records(100))
    port = _free_port()
    prefix = f"demo{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "VALUENET_HOME": str(tmp_path / "home"),
        "VALUENET_API_PORT": str(port),
        "VALUENET_TOPIC_PREFIX": prefix,
        "VALUENET_APP_ID": prefix,
        "VALUENET_WINDOWS": '["3650d"]',
        "VALUENET_TICK_SECONDS": "1",
    }
    for k in ("CLICKHOUSE_URL", "VALUENET_CHDB_PATH", "VALUENET_NETWORK", "VALUENET_DIRECTORY_PATH"):
        env.pop(k, None)
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "valuenet.cli", "up", "--sample", str(sample), "--network", "sample", "--rate", "0"]
    cmd += ["--demo-actors", "100", "--demo-history", "1d", "--demo-rate", "0.05"]
    with spawn(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as up:
        deadline = time.monotonic() + 240
        ready: dict[str, bool] = {}
        while time.monotonic() < deadline and not (ready and all(ready.values())):
            assert up.poll() is None, up.stdout.read() if up.stdout else ""
            try:
                nets = _get(base, "/api/networks")
                net = _get(base, "/api/metrics/network", network=DEMO_NETWORK)["metrics"]
                board = _get(base, "/api/reach/leaderboard", network=DEMO_NETWORK)["leaders"]
                alerts = _get(base, "/api/alerts", network=DEMO_NETWORK)["alerts"]
            except httpx.HTTPError:
                time.sleep(1)
                continue
            m = net[0] if net else {}
            ready = {
                "both networks": {n["network"] for n in nets["networks"] if n["last_tick"]} >= {DEMO_NETWORK, "sample"},
                "dashboard opens on the company": nets["default"] == DEMO_NETWORK,
                "marketing": bool(board) and board[0]["reach"] > 0 and board[0]["segment"] == "influencer",
                "responsiveness": m.get("responsiveness_median_s") is not None and m.get("questions_answered", 0) > 0,
                "idea pickup": m.get("idea_pickup_share") is not None and m.get("ideas_picked_up", 0) > 0,
                "alerts": bool(alerts),
            }
            time.sleep(1)
        assert all(ready.values()), ready
        # the company has all four segments, and value flows between them (tunnels)
        tunnels = _get(base, "/api/tunnels", network=DEMO_NETWORK)
        assert {"workforce", "partner", "customer", "influencer"} <= set(tunnels["segments"])
        pairs = {(t["src_segment"], t["dst_segment"]) for t in tunnels["tunnels"]}
        assert {("workforce", "customer"), ("customer", "workforce"), ("customer", "influencer")} <= pairs
        code, output = stop(up, signal.SIGINT)
    assert code == 0, output
    assert f"Demo: synthetic company '{DEMO_NETWORK}' (100 actors)" in output
    assert "continuing live" in output and "Stopped." in output and "Traceback" not in output
