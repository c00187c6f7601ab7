"""Processes started by tests: each in its own session, its whole tree killed when the test ends.

>>> with spawn([sys.executable, "-m", "valuenet.cli", "up"], env=env) as proc:
...     ...  # assertions; on failure or success the tree is gone afterwards
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psutil

from valuenet.localstack.clickhouse_server import free_port

__all__ = ["spawn", "kill_tree", "stop", "ignore_sigint", "free_port"]


def ignore_sigint() -> None:
    """``preexec_fn`` doing what ``cmd &`` in a non-interactive shell does to the child: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Family:
    """Every descendant ever seen of a process (polled), so orphans of a dead parent are still found."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid = pid
        self.seen: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.poll()

    def poll(self) -> None:
        """Add the current descendants."""
        with contextlib.suppress(psutil.Error):
            for p in psutil.Process(self.pid).children(recursive=True):
                self.seen.setdefault(p.pid, p)

    def alive(self) -> list[psutil.Process]:
        """Seen descendants still running (psutil checks the pid was not reused)."""
        self._stop.set()
        self.poll()
        return [p for p in self.seen.values() if p.is_running()]


def kill_tree(proc: subprocess.Popen[Any], family: _Family | None = None, grace: float = 10.0) -> None:
    """SIGTERM ``proc``, its process group and every descendant; SIGKILL what is left after ``grace`` s."""
    members = family.alive() if family else []
    if proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            members = [psutil.Process(proc.pid), *members]
    groups = {proc.pid}
    for p in members:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(p.pid))
    groups.discard(os.getpgid(0))  # never our own group
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for g in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(g, sig)
        for p in members:
            with contextlib.suppress(psutil.Error):
                p.send_signal(sig)
        _, members = psutil.wait_procs(members, timeout=wait)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)
        if not members and proc.poll() is not None:
            return


def stop(proc: subprocess.Popen[Any], sig: int, timeout: float = 90.0) -> tuple[int, str]:
    """Send ``sig`` to ``proc`` only and wait for it: ``(returncode, output)`` (output if piped as text)."""
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out or ""


@contextlib.contextmanager
def spawn(args: Sequence[str], **kwargs: Any) -> Iterator[subprocess.Popen[Any]]:
    """Popen ``args`` in a new session; on leaving, kill its tree (whatever happened in between)."""
    kwargs.setdefault("start_new_session", True)
    proc = subprocess.Popen(list(args), **kwargs)
    family = _Family(proc.pid)
    try:
        yield proc
    finally:
        kill_tree(proc, family)
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream is not None:
                stream.close()
