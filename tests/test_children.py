"""The tick's compute process dies with its worker, even when the worker is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent

PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from valuenet.analytics.children import die_with_parent

if __name__ == "__main__":
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent)
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(600)
"""


def _child_of_killed_parent(initializer: bool) -> psutil.Process:
    code = PARENT if initializer else PARENT.replace(", initializer=die_with_parent", "")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = psutil.Process(int(parent.stdout.readline()))
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
    return child


def _gone(proc: psutil.Process, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


def test_the_compute_child_dies_with_a_sigkilled_parent() -> None:
    child = _child_of_killed_parent(initializer=True)
    assert _gone(child, within_s=30)


def test_without_it_the_child_outlives_the_parent() -> None:
    child = _child_of_killed_parent(initializer=False)  # the problem die_with_parent solves
    try:
        assert not _gone(child, within_s=2)
    finally:
        child.kill()
