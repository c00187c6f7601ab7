"""Announce a scheduled report on a Slack incoming webhook, retried with exponential backoff.

An incoming webhook takes a message, not a file: the post names the report, its period and where
it was written (the run directory beside the other exports). The file is written and renamed into
place before anything is posted, so a post that fails — after ``attempts`` tries, waiting
``min(wait_max, wait_base · 2^i)`` seconds between them — is logged and loses nothing. The webhook
URL is a secret: it never reaches a log line.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

__all__ = ["SlackPostError", "post_message", "report_message", "announce_run"]

log = logging.getLogger("valuenet.analytics.report.slack")


class SlackPostError(RuntimeError):
    """Slack did not accept the post (non-2xx answer or no answer)."""


def _post_once(url: str, payload: dict[str, Any], timeout: float) -> None:
    """One POST (urllib: unlike httpx's INFO request log, it never writes the secret URL to a log)."""
    body = json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        detail = e.read()[:200].decode("utf-8", "replace")
        raise SlackPostError(f"the Slack webhook answered {e.code}: {detail}") from None
    except (OSError, ValueError) as e:  # URLError, timeouts, refused connections
        raise SlackPostError(f"no answer from the Slack webhook: {type(e).__name__}") from None
    if status >= 300:
        raise SlackPostError(f"the Slack webhook answered {status}")


def post_message(
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = 5,
    wait_base: float = 1.0,
    wait_max: float = 60.0,
    timeout: float = 10.0,
) -> bool:
    """Post ``payload`` to the webhook with retries; True when Slack accepted it, False (logged) otherwise."""
    if not url.startswith(("https://", "http://")):
        log.error("the Slack webhook URL is not http(s); the report stays on disk")
        return False
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=wait_base, max=wait_max),
        retry=retry_if_exception_type(SlackPostError),
        before_sleep=lambda state: log.warning(
            "Slack post failed (attempt %d of %d): %s; retrying",
            state.attempt_number,
            attempts,
            state.outcome.exception() if state.outcome else "",
        ),
        reraise=False,
    )
    try:
        retrying(_post_once, url, payload, timeout)
    except RetryError as e:
        log.error(
            "Slack post failed after %d attempts: %s; the report stays on disk", attempts, e.last_attempt.exception()
        )
        return False
    return True


def report_message(entry: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The Slack message of one report of a run's manifest."""
    where = run_dir / entry["file"]
    text = (
        f"valuenet report · {entry.get('network', '?')} · {entry.get('period') or entry.get('window', '?')}"
        f"{' (no flows in the period)' if entry.get('empty') else ''}\n"
        f"{entry.get('format', '').upper()} written to {where} ({entry.get('bytes', 0)} bytes, "
        f"sha256 {str(entry.get('sha256', ''))[:12]}…)"
    )
    return {"text": text}


def announce_run(run_dir: Path, url: str, **retry: Any) -> list[bool]:
    """Post one message per report in ``run_dir/manifest.json``; each result True when Slack accepted it."""
    manifest = json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
    return [
        post_message(url, report_message(e, Path(run_dir)), **retry)
        for e in manifest.get("files", [])
        if e.get("what") == "report"
    ]
