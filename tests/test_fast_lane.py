"""The fast lane, ``pytest -m "not kafka and not server and not browser"``, imports no service client.

Collecting any tests imports none of them (``tests/conftest.py`` refuses the run otherwise). Here
pure tests run in a fresh process with ``tests/import_guard.py``, which reports the service client
packages (kafka-python, aiokafka, faust, clickhouse_driver, chdb, playwright) left in
``sys.modules`` at the end of the run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.import_guard import MARKER

ROOT = Path(__file__).resolve().parent.parent
LANE = "not kafka and not server and not browser"
# Pure tests: metric formulas, parsers, dedupe. Tests that open a chdb store import chdb (and its
# clickhouse_driver escaping) by design; everything else in the lane must not need a client.
PURE = [
    "tests/test_metrics_network.py",
    "tests/test_metrics_structure.py",
    "tests/test_parsers_slack.py",
    "tests/test_dedupe.py",
]


def _clients_after(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.import_guard", "-m", LANE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    line = next(line for line in out.stdout.splitlines() if line.startswith(MARKER))
    return [name for name in line.removeprefix(MARKER).strip().split(",") if name]


def test_pure_tests_run_without_any_service_client() -> None:
    assert _clients_after(*PURE) == []


def test_a_collection_that_imports_a_client_is_refused() -> None:
    # `-p kafka` loads kafka-python as a plugin, as a test module importing it at the top would
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "kafka", "--co", "tests/test_dedupe.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0
    assert "collecting the tests imported kafka" in out.stdout + out.stderr
