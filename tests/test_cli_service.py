"""The CLI beside a running service: same rows as the API whether it reads the store or asks the service.

chdb allows one process per data directory. ``valuenet serve`` holds it here (as ``valuenet up``'s
worker does, tests/test_up.py), advertises its URL in ``$VALUENET_HOME/service.json``, and the
query and export commands go through its API. Also: stop signals, however the process was started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import networkx as nx
import pytest

from tests.processes import free_port, ignore_sigint, spawn, stop
from tests.test_api import NET

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of a VALUENET_HOME whose chdb store holds the API tests' seed (network acme, 1h and 24h)."""
    home = tmp_path_factory.mktemp("cli") / "home"
    env = {
        **os.environ,
        "VALUENET_HOME": str(home),
        "VALUENET_NETWORK": NET,
        "VALUENET_WINDOWS": '["1h", "24h"]',
        "VALUENET_CONFIG": str(home / "none.toml"),
        "VALUENET_API_PORT": str(free_port()),
    }
    env.pop("CLICKHOUSE_URL", None)
    env.pop("VALUENET_CHDB_PATH", None)
    env.pop("VALUENET_API_TOKEN", None)
    code = (
        "from pathlib import Path\n"
        "from valuenet.analytics.storage import open_store\n"
        "from tests.test_api import build_seed, write_seed, web_settings\n"
        f"s = open_store(web_settings(Path({str(home)!r}))); write_seed(s, build_seed()); s.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, timeout=300)
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``valuenet ARGS`` in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "valuenet.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def cli_json(env: dict[str, str], *args: str) -> list[dict]:
    """Rows printed by ``valuenet ARGS --json``."""
    r = cli(env, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


QUERIES: list[tuple[str, ...]] = [
    ("top", "--window", "1h", "--limit", "5"),
    ("top", "--metric", "reach", "--limit", "20"),
    ("tunnels", "--window", "1h"),
    ("reach", "inf1"),
    ("alerts",),
    ("alerts", "--kind", "reach_spike"),
]


def api_rows(base: str, args: tuple[str, ...]) -> list[dict]:
    """What the REST API answers for the same question as ``valuenet ARGS``."""
    get = lambda path, **p: httpx.get(f"{base}/api/{path}", params=p, timeout=30).raise_for_status().json()  # noqa: E731
    if args[0] == "top":
        metric = args[args.index("--metric") + 1] if "--metric" in args else "pagerank"
        limit = args[args.index("--limit") + 1]
        return get("metrics/actors", window="1h", metric=metric, limit=limit)["actors"]
    if args[0] == "tunnels":
        return get("tunnels", window="1h")["tunnels"]
    if args[0] == "reach":
        return [{"window": w, **get("reach", actor=args[1], window=w)["latest"]} for w in ("1h", "24h")]
    if args[0] == "alerts":
        kind = args[args.index("--kind") + 1] if "--kind" in args else None
        return get("alerts", **({"kind": kind} if kind else {}))["alerts"]
    raise AssertionError(args)


def _key(rows: list[dict]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def test_cli_answers_through_the_running_service_as_the_api(home: dict[str, str], tmp_path: Path) -> None:
    local = {args: cli_json(home, *args) for args in QUERIES}
    assert [r["actor"] for r in local[QUERIES[1]]][0] == "inf1" and local[QUERIES[1]][0]["reach"] == 6
    assert [a["kind"] for a in local[("alerts", "--kind", "reach_spike")]] == ["reach_spike"]
    local_export = tmp_path / "local.graphml"
    assert cli(home, "export", "--what", "graph", "--format", "graphml", "--out", str(local_export)).returncode == 0

    port = home["VALUENET_API_PORT"]
    base = f"http://127.0.0.1:{port}"
    service_json = Path(home["VALUENET_HOME"]) / "service.json"
    with spawn(
        [sys.executable, "-m", "valuenet.cli", "serve", "--no-kafka"],
        env=home,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ignore_sigint,  # as if started with `&` from a script
    ) as serve:
        deadline = time.monotonic() + 120
        while not service_json.exists() and time.monotonic() < deadline:
            assert serve.poll() is None, serve.stdout.read() if serve.stdout else ""
            time.sleep(0.2)
        info = json.loads(service_json.read_text())
        assert info["url"] == base and info["pid"] == serve.pid and info["role"] == "serve"

        for args in QUERIES:
            r = cli(home, *args, "--json")
            assert r.returncode == 0, r.stderr
            assert f"answered by the running service at {base}" in r.stderr
            remote = json.loads(r.stdout)
            assert _key(remote) == _key(api_rows(base, args)), args
            assert _key(remote) == _key(local[args]), args  # the store read directly gave the same answer

        table = cli(home, "top", "--metric", "reach")  # the README's form: a table on stdout
        assert table.returncode == 0 and "inf1" in table.stdout and "Traceback" not in table.stderr

        remote_export = tmp_path / "remote.graphml"
        r = cli(home, "export", "--what", "graph", "--format", "graphml", "--window", "1h", "--out", str(remote_export))
        assert r.returncode == 0, r.stderr
        assert remote_export.read_bytes() == local_export.read_bytes()
        assert nx.read_graphml(remote_export).number_of_edges() == 21

        cfg = tmp_path / "valuenet.toml"
        cfg.write_text('[[exports]]\ncron = "0 * * * *"\nwhat = "tunnels"\nformat = "csv"\nwindow = "1h"\n')
        scheduled = {**home, "VALUENET_CONFIG": str(cfg), "VALUENET_EXPORT_DIR": str(tmp_path / "exports")}
        r = cli(scheduled, "export", "--schedule", "--once", "--k", "1")
        assert r.returncode == 0, r.stderr
        (run_dir,) = (tmp_path / "exports").iterdir()
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert [f["file"] for f in manifest["files"]] == ["tunnels-1h.csv"]
        assert manifest["files"][0]["rows"] == len(api_rows(base, ("tunnels",)))

        bad = cli(home, "top", "--window", "7d")
        assert bad.returncode == 1 and "stored windows: 1h" in bad.stderr and "Traceback" not in bad.stderr
        bad = cli(
            home, "export", "--what", "actors", "--format", "csv", "--window", "30d", "--out", str(tmp_path / "x")
        )
        assert bad.returncode == 1 and "stored windows for network 'acme': 1h" in bad.stderr
        assert "Traceback" not in bad.stderr

        code, out = stop(serve, signal.SIGINT)
    assert code == 0, out
    assert "valuenet: stopped" in out and not service_json.exists()
    assert cli_json(home, *QUERIES[0]) == local[QUERIES[0]]  # the store is free again: read directly


def test_locked_store_without_a_service_is_one_clear_line(home: dict[str, str]) -> None:
    holder = (
        "import sys, time\n"
        "from valuenet.analytics.storage import open_store\n"
        "s = open_store(); print('held', flush=True); time.sleep(600)\n"
    )
    with spawn([sys.executable, "-c", holder], env=home, cwd=ROOT, stdout=subprocess.PIPE, text=True) as p:
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        r = cli(home, "tunnels")
    assert r.returncode == 1
    assert "is held by another process" in r.stderr and "valuenet worker --serve" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_signals(home: dict[str, str], sig: int) -> None:
    port = free_port()
    env = {**home, "VALUENET_HOME": str(Path(home["VALUENET_HOME"]).with_name(f"serve-{sig}"))}
    with spawn(
        [sys.executable, "-m", "valuenet.cli", "serve", "--no-kafka", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ignore_sigint,
    ) as serve:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert serve.poll() is None, serve.stdout.read() if serve.stdout else ""
                time.sleep(0.3)
        code, out = stop(serve, sig)
    assert code == 0, out
    assert "valuenet: stopped" in out and "Traceback" not in out


def test_retriable_coordinator_errors_at_start_are_not_errors() -> None:
    import logging

    from valuenet.pipeline.runtime import StartupNoise

    def record(msg: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord("aiokafka.consumer.group_coordinator", level, __file__, 1, msg, None, None)

    noise = StartupNoise(grace_s=60)
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.WARNING)
    r = record("Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError")
    assert noise.filter(r) is False and r.levelname == "INFO"  # downgraded, hidden at WARNING
    other = record("Heartbeat failed: UnknownMemberIdError")
    assert noise.filter(other) is True and other.levelname == "ERROR"  # anything else stays an ERROR
    late = StartupNoise(grace_s=-1)  # after the start-up grace a stuck coordinator is an ERROR again
    r = record("Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError")
    assert late.filter(r) is True and r.levelname == "ERROR"


def test_kafka_status_topic_counts_match_the_names() -> None:
    from valuenet.commands.stack import _topic_summary

    line = _topic_summary(["__consumer_offsets", "valuenet.dlq", "valuenet.flows", "valuenet.raw", "x"], "valuenet")
    assert line == "3 valuenet (valuenet.dlq, valuenet.flows, valuenet.raw); 2 other (__consumer_offsets, x)"
    assert _topic_summary([], "valuenet") == "no valuenet topics yet"


def test_clickhouse_server_help_prints_help_and_starts_nothing() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "valuenet.localstack.clickhouse_server", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and r.stdout.startswith("usage:") and "--data-dir" in r.stdout
    assert "CLICKHOUSE_URL=clickhouse:" not in r.stdout + r.stderr  # no server was started
