"""The ASGI app: REST API, SSE feed, Prometheus metrics and the dashboard, over one store handle.

``create_app(settings, store)`` takes an injected store so the API can share the worker's
embedded chdb session (chdb is opened by one process at a time); without one it opens
``valuenet.analytics.storage.open_store(settings)`` itself and closes it on shutdown.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from valuenet import __version__
from valuenet.analytics.storage.health import store_health
from valuenet.analytics.storage.reader import Reader
from valuenet.config import Settings, get_settings
from valuenet.schemas.palette import page_head, page_meta
from valuenet.schemas.text import clean, clean_text
from valuenet.web.api import StoreError, router
from valuenet.web.auth import HostAllowList, TokenGuard, is_loopback, require_token_for_host
from valuenet.web.dlq_api import router as dlq_router
from valuenet.web.feed import FeedHub
from valuenet.web.metrics_prom import PipelineCollector, build_registry, render
from valuenet.web.report import router as report_router

__all__ = ["create_app", "STATIC_DIR"]

log = logging.getLogger("valuenet.web")
STATIC_DIR = Path(__file__).parent / "static"


#: Every script, style, font, worker and fetch comes from this origin (vendored, never a CDN);
#: no page may frame the dashboard (clickjacking).
CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


def _sha256_b64(text: str) -> str:
    """The base64 SHA-256 of ``text`` as a CSP source expression wants it."""
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def create_app(
    settings: Settings | None = None,
    store: Any = None,
    *,
    kafka: bool = True,
    feed_poll_seconds: float = 0.5,
) -> FastAPI:
    """Build the app.

    Parameters
    ----------
    settings : Settings, default ``get_settings()``
        ``api_host`` and ``api_token`` decide whether a bearer token is required.
    store : valuenet.analytics.storage.Store, optional
        An open store to read from; default ``open_store(settings)`` (opened and set up here).
    kafka : bool, default True
        Consume ``valuenet.metrics`` for the live feed and read offsets for ``/metrics``;
        with False only the ClickHouse poller feeds the live feed.
    feed_poll_seconds : float, default 0.5
        How often the feed polls the store for new snapshots.

    Raises
    ------
    InsecureBindError
        ``api_host`` is not loopback and no token (or one shorter than 32 characters) is configured.
    """
    settings = settings or get_settings()
    token = settings.api_token.get_secret_value() if settings.api_token else None
    require_token_for_host(settings.api_host, token)
    own_store = store is None
    if own_store:
        from valuenet.analytics.storage import open_store

        store = open_store(settings)
        store.setup()
    reader = Reader(store)
    hub = FeedHub(reader, settings, poll_seconds=feed_poll_seconds, kafka=kafka)
    collector = PipelineCollector(reader, settings, kafka=kafka, feed=hub)
    registry = build_registry(collector)
    guard = TokenGuard(token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            if collector.kafka is not None:
                collector.kafka.close()
            if own_store:
                store.close()

    app = FastAPI(
        title="valuenet",
        version=__version__,
        description="Live value network analysis: knowledge, idea and reputation flows between "
        "workforce, partners, customers and influencers. Send `Authorization: Bearer <token>` "
        "when the service is exposed beyond loopback.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.reader = reader
    app.state.store = store
    app.state.feed = hub
    app.state.registry = registry

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming the field; the offending input echoed with its text repaired (a lone surrogate cannot be sent)."""
        return JSONResponse({"detail": clean(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(ValueError)
    @app.exception_handler(OverflowError)
    async def _bad_value(request: Request, exc: Exception) -> JSONResponse:
        """A value a route could not use (out of range, unencodable): the caller's input, so 400, never 500."""
        log.info("bad input on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": clean_text(f"invalid input: {exc}")[:500]}, status_code=400)

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        """Content-Security-Policy (same-origin only, no framing) and friends on every answer."""
        response = await call_next(request)
        docs = request.url.path == "/docs"  # Swagger UI's page bootstraps with one inline script
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    if is_loopback(settings.api_host):  # token-less by default: refuse other Host names (DNS rebinding)
        app.add_middleware(HostAllowList, allowed=(settings.api_host, *settings.api_allowed_hosts))
    app.include_router(router, dependencies=[Depends(guard)])
    app.include_router(dlq_router, dependencies=[Depends(guard)])
    app.include_router(report_router, dependencies=[Depends(guard)])

    @app.get(
        "/api/feed",
        summary="Live feed (Server-Sent Events)",
        dependencies=[Depends(guard)],
        response_class=EventSourceResponse,
    )
    async def feed(network: str | None = Query(None, min_length=1, max_length=128)) -> EventSourceResponse:
        """Events ``hello`` (current snapshot), ``tick`` and ``live`` (MetricsEvent JSON) and ``alert`` (Alert JSON)."""
        return EventSourceResponse(hub.events(network), ping=15)

    @app.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(guard)], response_class=Response)
    def metrics() -> Response:
        """Pipeline health in the Prometheus text format."""
        return Response(render(registry), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> JSONResponse:
        """``ok`` plus whether the store answers and the feed's Kafka consumer is connected; 503 while this
        process's store writes are blocked (``store_blocked``: reason, cause, since; disk full and the like)."""
        try:
            await run_in_threadpool(reader.ping)
            store_ok = True
        except Exception:  # noqa: BLE001
            store_ok = False
        blocked = store_health().status()
        body = {
            "status": "ok" if store_ok and blocked is None else "degraded",
            "store": store_ok,
            "store_blocked": blocked,
            "kafka": hub.kafka_connected,
            "auth": guard.enabled,
            "version": __version__,
        }
        return JSONResponse(body, status_code=503 if blocked else 200)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="valuenet API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="data:,",
        )

    @app.get("/api/meta", summary="Segment and flow-type names with their colours", dependencies=[Depends(guard)])
    async def meta() -> dict:
        """``segments``, ``flow_types`` and ``palette: {segments, flows}`` (the dashboard's colours)."""
        return page_meta()

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        # the palette goes inline into the page's head: CSS variables and window.VNPalette, before any script;
        # the CSP allows that one inline script by its hash (script-src stays 'self' otherwise)
        head = page_head()
        page = (STATIC_DIR / "index.html").read_text(encoding="utf-8").replace("<!--palette-->", head, 1)
        allowed = " ".join(f"'sha256-{_sha256_b64(js)}'" for js in re.findall(r"<script>(.*?)</script>", head, re.S))
        csp = CSP.replace("script-src 'self'", f"script-src 'self' {allowed}") if allowed else CSP
        return HTMLResponse(page, headers={"Cache-Control": "no-cache", "Content-Security-Policy": csp})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
