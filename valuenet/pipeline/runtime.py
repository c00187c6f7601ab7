"""Start a faust worker in this process, optionally with the web service on the same event loop."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from valuenet.config import Settings

if TYPE_CHECKING:
    import faust

# Builds the ASGI app served beside the worker from the settings and the worker's store; passed in by
# the surface that starts the worker (`valuenet worker --serve`), so the pipeline never imports the web layer.
WebFactory = Callable[[Settings, Any], Any]

# The worker allocates a few short-lived containers per event (models, dicts): collecting the
# young generation every 700 allocations (Python's default) cost ~25 % of its time. Every
# 100,000 keeps cycles collected while the hot path runs (benchmarks/bench_e2e.py).
GC_THRESHOLD = (100_000, 50, 100)


def run_worker(*, web: WebFactory | None = None, loglevel: str = "warning") -> None:
    """Run the processors and analytics agents until stopped (SIGTERM / Ctrl-C), serving ``web`` if given."""
    from faust.worker import Worker

    import valuenet.pipeline.graph_agent
    import valuenet.pipeline.normalise_agent  # noqa: F401 - registers the normalise agent
    from valuenet.pipeline.app import app, settings

    gc.set_threshold(*GC_THRESHOLD)
    # faust stops on SIGINT and SIGTERM; make sure SIGINT is not still ignored (inherited from `cmd &`)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.getLogger("aiokafka.consumer.group_coordinator").addFilter(StartupNoise())
    if web is not None:
        _serve_in_worker(app, settings, web)
    logging.getLogger("faust").setLevel(loglevel.upper())
    worker = Worker(app, loglevel=loglevel, quiet=True)
    if not sys.stdout.isatty():
        worker.spinner = None  # no cursor escapes in log files
    code: object = 0
    try:
        worker.execute_from_commandline()
    except SystemExit as e:  # faust stopped: agents, timers, producer flushed, offsets committed
        code = e.code
    _leave(code)


def _leave(code: object) -> None:
    """Close the store and the tick process, then exit without running native destructors.

    Everything is stored and committed by now. chdb's C++ static destructors can crash at
    interpreter exit (SIGSEGV, seen on about one stop in three), which would turn a clean stop
    into a failure: the process leaves with ``os._exit`` after closing what it opened.
    """
    import os

    from valuenet.analytics.storage.sink import get_sink
    from valuenet.pipeline import graph_agent

    graph_agent.shutdown_compute()
    try:
        get_sink().store.close()
    except Exception as e:  # noqa: BLE001 - leaving anyway; say why the store did not close
        logging.getLogger(__name__).warning("closing the store at exit failed: %s", e)
    try:  # multiprocessing's finalizers: release the tick pool's semaphores (no "leaked semaphore" warning)
        from multiprocessing import util

        finalise: Callable[[], None] | None = getattr(util, "_exit_function", None)  # what atexit would run
        if finalise is not None:
            finalise()
    except Exception as e:  # noqa: BLE001 - leaving anyway
        logging.getLogger(__name__).warning("multiprocessing clean-up at exit failed: %s", e)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


class StartupNoise(logging.Filter):
    """aiokafka logs "coordinator not available" as ERROR while a fresh broker elects the group coordinator.

    The error is retriable and aiokafka retries it: during the first ``grace_s`` seconds of the
    worker it is logged at INFO instead (shown with ``--loglevel info``); later it stays an ERROR.
    """

    RETRIABLE = (
        "GroupCoordinatorNotAvailableError",
        "CoordinatorNotAvailableError",
        "NotCoordinatorForGroupError",
        "GroupLoadInProgressError",
        "CoordinatorLoadInProgressError",
    )

    def __init__(self, grace_s: float = 120.0) -> None:
        super().__init__()
        self.until = time.monotonic() + grace_s

    def filter(self, record: logging.LogRecord) -> bool:
        """Downgrade a retriable coordinator error at start; keep every other record as it is."""
        if record.levelno < logging.ERROR or time.monotonic() > self.until:
            return True
        message = record.getMessage()
        if not any(name in message for name in self.RETRIABLE):
            return True
        record.levelno, record.levelname = logging.INFO, "INFO"
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)


def _serve_in_worker(app: faust.App, settings: Settings, create_app: WebFactory) -> None:
    """Run uvicorn as a task of the faust app, sharing the worker's store (one chdb owner)."""
    import contextlib
    from collections.abc import Iterator

    import uvicorn

    from valuenet.analytics.storage.sink import get_sink
    from valuenet.service import serve_advertised

    class WorkerServer(uvicorn.Server):
        """uvicorn that leaves SIGINT/SIGTERM to faust (the worker owns signals)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    @app.task
    async def _web() -> None:
        web = create_app(settings, get_sink().store)
        config = uvicorn.Config(web, host=settings.api_host, port=settings.api_port, log_level="warning", lifespan="on")
        server = WorkerServer(config)
        await serve_advertised(server, settings, "worker --serve")  # the CLI finds the API in service.json
