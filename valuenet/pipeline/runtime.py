"""Start a faust worker in this process, optionally with the web service on the same event loop."""

from __future__ import annotations

import gc
import logging
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
    if web is not None:
        _serve_in_worker(app, settings, web)
    logging.getLogger("faust").setLevel(loglevel.upper())
    Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()


def _serve_in_worker(app: faust.App, settings: Settings, create_app: WebFactory) -> None:
    """Run uvicorn as a task of the faust app, sharing the worker's store (one chdb owner)."""
    import uvicorn

    from valuenet.analytics.storage.sink import get_sink

    @app.task
    async def _web() -> None:
        web = create_app(settings, get_sink().store)
        config = uvicorn.Config(web, host=settings.api_host, port=settings.api_port, log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # faust owns signals
        await server.serve()
