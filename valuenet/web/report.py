"""``GET /api/report``: the periodic report of a network as one self-contained HTML page or a PDF.

The report is assembled by :mod:`valuenet.analytics.report` from the store's Reader (in a worker
thread, off the event loop) and drawn with the dashboard's own value map (:mod:`valuenet.web.valuemap`).
An unknown network or window is a 404 naming the stored ones, a bad period a 422; a store that
does not answer is a 503.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from valuenet.analytics.report import ReportError, build_report, render_html, render_pdf
from valuenet.analytics.report.render import PdfError
from valuenet.analytics.whatif_runner import WindowConfig
from valuenet.web import valuemap as vmap
from valuenet.web.api import NetworkQ, ReaderDep, SettingsDep, StoreError, WindowQ, _network

__all__ = ["router", "valuemap_svg", "REPORT_CSP"]

log = logging.getLogger("valuenet.web.report")
router = APIRouter(prefix="/api")
#: the report page loads nothing: inline styles and SVG only
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"


def valuemap_svg(rows: list[dict], network: str, window: str) -> str:
    """The dashboard's value map drawing of ``roles_exchanges``-shaped rows."""
    return vmap.to_svg(vmap.build_valuemap(rows, network, window))


@router.get("/report", summary="The periodic report (value map, tunnels, people, silos, trends, alerts, introductions)")
async def report(
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    since: Annotated[
        str | None, Query(max_length=16, description="Period length, e.g. 7d (default: the window's length)")
    ] = None,
    format: Annotated[Literal["html", "pdf"], Query(description="html (self-contained page) or pdf")] = "html",
    names: Annotated[bool, Query(description="Show directory display names beside the actor keys")] = True,
) -> Response:
    """The report of the period ending at the window's latest snapshot, against the previous period."""
    net = _network(reader, settings, network)
    cfg = WindowConfig(settings.bucket_seconds, settings.allowed_lateness_seconds)

    def make() -> str:
        win = window
        if win is None:
            stored = {n["network"]: n["windows"] for n in reader.networks()}.get(net) or []
            win = stored[0] if stored else (settings.windows[0] if settings.windows else "24h")
        rep = build_report(reader, net, win, since, k=settings.export_k, names=names, cfg=cfg)
        return render_html(rep, valuemap_svg)

    try:
        html = await run_in_threadpool(make)
    except ReportError as e:
        status = 422 if str(e).startswith("since:") else 404
        raise HTTPException(status_code=status, detail=str(e)) from None
    except ValueError as e:
        raise HTTPException(status_code=400, detail=f"invalid input: {e}") from None
    except Exception as e:
        log.warning("report failed: %s", e, exc_info=True)
        raise StoreError(f"store query failed: {type(e).__name__}") from e
    headers = {"Content-Security-Policy": REPORT_CSP}
    if format == "html":
        return HTMLResponse(html, headers=headers)

    def pdf() -> bytes:
        with tempfile.TemporaryDirectory(prefix="valuenet-api-report-") as tmp:
            return render_pdf(html, Path(tmp) / "report.pdf").read_bytes()

    try:
        data = await run_in_threadpool(pdf)
    except PdfError as e:
        log.warning("report PDF failed: %s", e)
        raise HTTPException(status_code=503, detail=str(e)) from None
    headers["Content-Disposition"] = f'inline; filename="valuenet-report-{net}.pdf"'
    return Response(data, media_type="application/pdf", headers=headers)
