"""``GET /api/dlq``: dead letters of ``valuenet.dlq``, newest first, paginated (``valuenet.ingest.dlq``)."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from valuenet.config import Settings
from valuenet.schemas.timeunits import DurationError, parse_duration

__all__ = ["router"]

log = logging.getLogger("valuenet.web.dlq")
router = APIRouter(prefix="/api")


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _invalid(field: str, value: str, msg: str) -> HTTPException:
    return HTTPException(422, detail=[{"loc": ["query", field], "msg": msg, "input": value, "type": "value_error"}])


@router.get("/dlq", summary="Dead letters, newest first (paginated: pass `next` as `before`)")
def dead_letters(
    settings: Annotated[Settings, Depends(_settings)],
    limit: Annotated[int, Query(ge=1, le=1000, description="Dead letters per page")] = 50,
    since: Annotated[
        str | None, Query(max_length=16, description="Only those written in this span back from now: 30m, 2h, 7d")
    ] = None,
    before: Annotated[
        str | None, Query(max_length=400, description="Cursor: the `next` of the previous page (PARTITION:OFFSET,...)")
    ] = None,
    full: Annotated[bool, Query(description="Include each dead letter's record (the raw input as text)")] = False,
) -> dict:
    """Dead letters with id (PARTITION:OFFSET), time, stage, source, network, field, reason and whether
    ``valuenet dlq replay`` can re-send them; ``next`` is the cursor of the older page (null at the oldest)."""
    from valuenet.ingest.dlq import DlqError, DlqReader, parse_cursor

    try:
        start = int((time.time() - parse_duration(since)) * 1000) if since else None
    except DurationError as e:
        raise _invalid("since", since or "", str(e)) from None
    try:
        cursor = parse_cursor(before) if before else None
    except ValueError as e:
        raise _invalid("before", before or "", str(e)) from None
    topic = settings.topic("dlq")
    try:
        with DlqReader(settings.bootstrap_servers, topic, timeout_s=5.0) as reader:
            page = reader.page(limit=limit, since_ms=start, before=cursor)
    except DlqError as e:
        log.warning("dead letters unavailable: %s", e)
        raise HTTPException(503, detail=f"dead-letter topic unavailable: {e}") from None
    except Exception as e:
        log.warning("reading dead letters failed: %s", e, exc_info=True)
        raise HTTPException(503, detail=f"dead-letter topic unavailable: {type(e).__name__}") from None
    return {
        "topic": topic,
        "retained": page.retained,
        "dead_letters": [d.as_dict(full=full) for d in page.items],
        "next": page.next,
    }
