"""scripts/setup.sh's step runner: tool output goes to the log, the terminal gets one summary line (or the log's tail)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_step(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    """Define setup.sh's helpers (up to and including ``run``) in a shell and run one step with them."""
    text = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    helpers = re.search(r"^say\(\) .*?^}\n", text, re.S | re.M)
    assert helpers, "setup.sh defines say() ... run() { ... }"
    script = f"set -euo pipefail\n{helpers.group(0)}\nrun 'the step' {command}\n"
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )


def test_a_step_prints_one_summary_line_and_logs_the_tool_output(tmp_path: Path) -> None:
    r = _run_step(tmp_path, "bash -c 'for i in 1 2 3; do echo Collecting pkg$i; done'")
    log = tmp_path / ".cache" / "valuenet" / "setup.log"
    assert r.returncode == 0
    (line,) = r.stdout.strip().splitlines()
    assert re.fullmatch(rf"==> the step: done in \d+ s \(log: {re.escape(str(log))}\)", line)
    assert "Collecting pkg3" in log.read_text() and "Collecting" not in r.stdout


def test_a_failing_step_shows_the_log_tail_and_stops(tmp_path: Path) -> None:
    r = _run_step(tmp_path, "bash -c 'echo the reason; exit 3'")
    assert r.returncode == 1
    assert "error: the step failed (exit 3)" in r.stderr and "the reason" in r.stderr
