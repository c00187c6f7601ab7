"""Where a running valuenet service can be reached: ``$VALUENET_HOME/service.json``.

Embedded chdb allows one process per data directory. The process that owns it and serves the
API (``valuenet up``'s worker, ``valuenet worker --serve``, ``valuenet serve``) writes its URL,
pid and store into this file once uvicorn listens, and removes it when it stops. The CLI
(``valuenet top``, ``export``, …) finds the store locked, reads the file and asks the service
over HTTP instead (``valuenet.commands.source``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from valuenet.config import Settings

__all__ = [
    "ServiceInfo",
    "service_file",
    "advertise",
    "withdraw",
    "discover",
    "serve_advertised",
    "client_url",
    "stop_on_signals",
    "StopSignals",
]

_ANY_ADDRESS = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class ServiceInfo:
    """One running service: its base URL, pid, role and the store it reads."""

    url: str
    pid: int
    role: str
    store: str
    started_at: float


def service_file(settings: Settings) -> Path:
    """``$VALUENET_HOME/service.json``."""
    return settings.home / "service.json"


def client_url(host: str, port: int) -> str:
    """The URL a local client uses for a service bound to ``host:port`` (wildcard binds → loopback)."""
    h = "127.0.0.1" if host in _ANY_ADDRESS else host
    if ":" in h and not h.startswith("["):
        h = f"[{h}]"
    return f"http://{h}:{port}"


def _store_label(settings: Settings) -> str:
    """What the service reads: the chdb directory, or ``server`` for a ClickHouse server."""
    return "server" if settings.clickhouse_url else str(Path(settings.chdb_dir).resolve())


def advertise(settings: Settings, role: str) -> ServiceInfo:
    """Write this process's service file atomically (mode 0600) and return what it says."""
    info = ServiceInfo(
        url=client_url(settings.api_host, settings.api_port),
        pid=os.getpid(),
        role=role,
        store=_store_label(settings),
        started_at=time.time(),
    )
    path = service_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".service.", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(asdict(info), f)
    os.replace(tmp, path)
    return info


def withdraw(settings: Settings) -> None:
    """Remove the service file if this process wrote it."""
    path = service_file(settings)
    with contextlib.suppress(OSError, ValueError, KeyError):
        if json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid():
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discover(settings: Settings) -> ServiceInfo | None:
    """The running service that reads this configuration's store, or None (no file, stale pid, other store)."""
    path = service_file(settings)
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        info = ServiceInfo(**raw)
    except (OSError, ValueError, TypeError):
        return None
    if not _alive(info.pid) or info.store != _store_label(settings):
        return None
    return info


async def serve_advertised(
    server: Any, settings: Settings, role: str, stop_requested: Callable[[], bool] = lambda: False
) -> None:
    """Run a ``uvicorn.Server``; advertise it in the service file while it listens.

    ``stop_requested`` is polled until the server listens: a stop signal that arrived before
    uvicorn took over the signal handlers still stops it.
    """
    task = asyncio.ensure_future(server.serve())
    try:
        while not server.started and not task.done():
            if stop_requested():
                server.should_exit = True
            await asyncio.sleep(0.05)
        if stop_requested():
            server.should_exit = True
        if server.started:
            advertise(settings, role)
        await asyncio.shield(task)
    except asyncio.CancelledError:
        # the owner (faust stopping its tasks) cancelled us: let uvicorn shut down gracefully instead
        server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
        raise
    finally:
        withdraw(settings)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class StopSignals:
    """SIGINT and SIGTERM only noted (``received``): for a server that runs its own graceful shutdown."""

    def __init__(self) -> None:
        self.received: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._note)

    def _note(self, signum: int, frame: object) -> None:
        self.received.append(signum)

    def __call__(self) -> bool:
        """True once a stop signal arrived."""
        return bool(self.received)


def stop_on_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, however the process was started.

    A process started in the background by a shell script (``cmd &``) inherits SIGINT as
    ignored, and Python then leaves it ignored: ``kill -INT`` would do nothing.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
