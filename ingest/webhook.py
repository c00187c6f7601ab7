"""HTTP webhook receiver (Starlette ASGI): verify the platform's signature, forward the raw envelope to Kafka.

Routes: ``POST /slack``, ``/github``, ``/discourse``, ``/zendesk`` and
``/generic/{source}``; ``GET /healthz``. A request is answered 2xx only after
Kafka acknowledged its record (the blocking producer call runs in a thread);
401 on a bad, missing or unparsable signature header (checked before anything is written), 400
on a signed body that is not JSON (it goes to ``valuenet.dlq``; text is repaired, see
``schemas.text``), 413 on a body over ``max_body_bytes`` (default 1 MB, Kafka's default message
size; unverifiable, so nothing is written), 503 when Kafka does not acknowledge within
``ack_timeout_s`` (default 5 s). The network of each route is configuration
(``VALUENET_WEBHOOK_NETWORKS``), not a request parameter. Secrets come from the environment
(:class:`WebhookSecrets`) and never reach a log line::

    valuenet ingest webhook --port 8090
    curl -X POST localhost:8090/generic/generic -H 'Authorization: Bearer $VALUENET_GENERIC_WEBHOOK_TOKEN' -d '{...}'
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from valuenet.ingest.errors import RecordTooLarge
from valuenet.ingest.platforms.discourse.verify import verify_discourse
from valuenet.ingest.platforms.generic.verify import verify_bearer, verify_generic_hmac
from valuenet.ingest.platforms.github.verify import verify_github
from valuenet.ingest.platforms.slack.verify import verify_slack
from valuenet.ingest.platforms.zendesk.verify import verify_zendesk
from valuenet.ingest.signatures import Verdict
from valuenet.schemas.dlq import DlqRecord, dlq_record
from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.interaction import Source
from valuenet.schemas.text import loads

__all__ = ["ACK_TIMEOUT_S", "KEPT_HEADERS", "MAX_BODY_BYTES", "BodyTooLarge", "WebhookSecrets", "create_app"]

log = logging.getLogger(__name__)

#: Larger bodies cannot become one Kafka record under the broker's default ``message.max.bytes``.
MAX_BODY_BYTES = 1_000_000
#: Seconds to wait for Kafka's acknowledgement before answering 503 (GitHub gives up after 10 s).
ACK_TIMEOUT_S = 5.0


class BodyTooLarge(Exception):
    """A request body over the receiver's limit; ``head`` holds its first bytes (for the DLQ)."""

    def __init__(self, limit: int, size: int, head: bytes) -> None:
        super().__init__(f"body of at least {size} bytes is over the {limit}-byte limit")
        self.limit, self.size, self.head = limit, size, head


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with :class:`BodyTooLarge` as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit, int(declared), b"")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            raise BodyTooLarge(limit, size, b"".join(chunks)[:4096])
    return b"".join(chunks)


#: Delivery headers copied into the envelope (lower-cased); never signatures or tokens.
KEPT_HEADERS: dict[str, tuple[str, ...]] = {
    "slack": ("x-slack-request-timestamp", "x-slack-retry-num", "x-slack-retry-reason"),
    "github": ("x-github-delivery", "x-github-event", "x-github-hook-id"),
    "discourse": ("x-discourse-event-id", "x-discourse-event", "x-discourse-event-type", "x-discourse-instance"),
    "zendesk": ("x-zendesk-webhook-id", "x-zendesk-webhook-invocation-id", "x-zendesk-webhook-signature-timestamp"),
    "generic": ("x-event-id", "x-event-type"),
}


class WebhookSecrets(BaseSettings):
    """Webhook secrets, each from its ``VALUENET_*`` environment variable (unset = that route answers 401)."""

    model_config = SettingsConfigDict(env_prefix="VALUENET_", extra="ignore", frozen=True)

    slack_signing_secret: SecretStr | None = Field(
        None, description="Slack app signing secret. Env VALUENET_SLACK_SIGNING_SECRET"
    )
    github_webhook_secret: SecretStr | None = Field(
        None, description="GitHub webhook secret. Env VALUENET_GITHUB_WEBHOOK_SECRET"
    )
    discourse_webhook_secret: SecretStr | None = Field(
        None, description="Discourse webhook secret. Env VALUENET_DISCOURSE_WEBHOOK_SECRET"
    )
    zendesk_webhook_secret: SecretStr | None = Field(
        None, description="Zendesk webhook signing secret. Env VALUENET_ZENDESK_WEBHOOK_SECRET"
    )
    generic_webhook_token: SecretStr | None = Field(
        None, description="Bearer token / HMAC key of /generic/{source}. Env VALUENET_GENERIC_WEBHOOK_TOKEN"
    )


def _reveal(s: SecretStr | None) -> str | None:
    return s.get_secret_value() if s is not None else None


Sender = Callable[[RawEnvelope], Any]
DlqSender = Callable[[DlqRecord], Any]


def create_app(
    send: Sender,
    *,
    secrets: WebhookSecrets | None = None,
    network: str = "default",
    send_dlq: DlqSender | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    networks: Mapping[str, str] | None = None,
    ack_timeout_s: float = ACK_TIMEOUT_S,
) -> Starlette:
    """Build the receiver. ``send`` blocks until Kafka acknowledged (e.g. ``RawProducer.send_and_wait``).

    The network an event goes to is configuration, never the request's: ``networks`` maps a route
    (``slack``, ``github``, ``discourse``, ``zendesk``, ``generic`` or ``generic/<source>``) to its
    network, ``network`` is the rest's. Kafka not acknowledging within ``ack_timeout_s`` → 503.
    """
    secrets = secrets or WebhookSecrets()
    route_networks = dict(networks or {})

    def network_of(route: str) -> str:
        """The configured network of ``route`` (``generic/x`` falls back to ``generic``, then the default)."""
        return route_networks.get(route) or route_networks.get(route.split("/")[0]) or network

    slack_secret = _reveal(secrets.slack_signing_secret)
    github_secret = _reveal(secrets.github_webhook_secret)
    discourse_secret = _reveal(secrets.discourse_webhook_secret)
    zendesk_secret = _reveal(secrets.zendesk_webhook_secret)
    generic_token = _reveal(secrets.generic_webhook_token)

    async def forward(
        request: Request, source: Source, body: bytes, kept: tuple[str, ...], route: str | None = None
    ) -> JSONResponse:
        """Wrap the verified body as an envelope and answer only after ``send`` returned (Kafka acked)."""
        net = network_of(route or source.value)
        try:
            payload = loads(body)  # text repaired (schemas.text); invalid or too deeply nested → 400
        except ValueError as e:
            await _dead_letter(source.value, net, f"body is not JSON: {e}", "body", body)
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        headers = {h: request.headers[h] for h in kept if h in request.headers}
        try:
            envelope = RawEnvelope(source=source, network=net, headers=headers, payload=payload)
        except ValidationError as e:
            field = ".".join(str(p) for p in e.errors()[0]["loc"]) if e.errors() else "envelope"
            await _dead_letter(
                source.value, net[:128] or "default", f"invalid envelope: {e.errors()[0]['msg']}", field, body
            )
            return JSONResponse({"error": f"invalid {field}"}, status_code=400)
        try:
            meta = await asyncio.wait_for(asyncio.to_thread(send, envelope), timeout=ack_timeout_s)
        except RecordTooLarge as e:  # over the raw topic's record limit: refused, never half-sent
            log.error("refused a %s webhook: %s", source.value, e)
            await _dead_letter(source.value, net, str(e), "<envelope>", body)
            return JSONResponse({"error": str(e)}, status_code=413)
        except TimeoutError:
            log.error("kafka did not acknowledge a %s webhook within %.1f s", source.value, ack_timeout_s)
            return JSONResponse({"error": "kafka unavailable"}, status_code=503, headers={"Retry-After": "30"})
        except Exception as e:  # noqa: BLE001 - any producer failure means "not acknowledged"
            log.error("kafka did not acknowledge a %s webhook: %s", source.value, type(e).__name__)
            return JSONResponse({"error": "kafka unavailable"}, status_code=503, headers={"Retry-After": "30"})
        ack: dict[str, Any] = {"ok": True}
        if meta is not None and hasattr(meta, "offset"):
            ack.update(partition=meta.partition, offset=meta.offset)
        return JSONResponse(ack)

    async def _dead_letter(source: str, net: str, reason: str, field: str, body: bytes) -> None:
        if send_dlq is None:
            return
        rec = dlq_record(stage="webhook", source=source, network=net, reason=reason, field=field, record=body)
        try:
            await asyncio.to_thread(send_dlq, rec)
        except Exception as e:  # noqa: BLE001 - the DLQ failing must not turn a 400 into a 500
            log.error("could not dead-letter a %s webhook: %s", source, type(e).__name__)

    def checked(verify: Callable[..., Verdict], *args: Any) -> Verdict:
        """Run a signature check; a header it cannot parse is a failed check (401), never a 500."""
        try:
            return verify(*args)
        except Exception as e:  # noqa: BLE001 - hostile header values must not reach the error handler
            return Verdict(False, f"malformed signature headers ({type(e).__name__})")

    def unauthorized(source: str, verdict: Verdict) -> JSONResponse:
        """401 with the (secret-free) reason."""
        log.warning("rejected %s webhook: %s", source, verdict.reason)
        return JSONResponse({"error": verdict.reason}, status_code=401)

    async def slack(request: Request) -> JSONResponse:
        """Slack Events API: v0 signature, stale timestamps rejected, url_verification echoed."""
        body = await read_body(request, max_body_bytes)
        verdict = checked(
            verify_slack,
            slack_secret,
            request.headers.get("x-slack-request-timestamp"),
            request.headers.get("x-slack-signature"),
            body,
        )
        if not verdict:
            return unauthorized("slack", verdict)
        try:
            doc = loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("type") == "url_verification":
            return JSONResponse({"challenge": doc.get("challenge", "")})
        return await forward(request, Source.slack, body, KEPT_HEADERS["slack"])

    def hmac_body_route(source: Source, verify, secret: str | None, signature_header: str, event_header: str):
        """A receiver for platforms that sign the body alone (GitHub, Discourse); their pings are answered, not forwarded."""

        async def receive(request: Request) -> JSONResponse:
            body = await read_body(request, max_body_bytes)
            verdict = checked(verify, secret, request.headers.get(signature_header), body)
            if not verdict:
                return unauthorized(source.value, verdict)
            if request.headers.get(event_header) == "ping":
                return JSONResponse({"ok": True, "ping": True})
            return await forward(request, source, body, KEPT_HEADERS[source.value])

        receive.__doc__ = f"{source.value} webhooks: {signature_header} over the body."
        return receive

    github = hmac_body_route(Source.github, verify_github, github_secret, "x-hub-signature-256", "x-github-event")
    discourse = hmac_body_route(
        Source.discourse,
        verify_discourse,
        discourse_secret,
        "x-discourse-event-signature",
        "x-discourse-event",
    )

    async def zendesk(request: Request) -> JSONResponse:
        """Zendesk event webhooks: base64 HMAC over timestamp + body."""
        body = await read_body(request, max_body_bytes)
        verdict = checked(
            verify_zendesk,
            zendesk_secret,
            request.headers.get("x-zendesk-webhook-signature-timestamp"),
            request.headers.get("x-zendesk-webhook-signature"),
            body,
        )
        if not verdict:
            return unauthorized("zendesk", verdict)
        return await forward(request, Source.zendesk, body, KEPT_HEADERS["zendesk"])

    async def generic(request: Request) -> JSONResponse:
        """Generic JSON for any known source: bearer token or X-Valuenet-Signature HMAC."""
        body = await read_body(request, max_body_bytes)
        name = request.path_params["source"]
        if "x-valuenet-signature" in request.headers:
            verdict = checked(verify_generic_hmac, generic_token, request.headers["x-valuenet-signature"], body)
        else:
            verdict = checked(verify_bearer, generic_token, request.headers.get("authorization"))
        if not verdict:
            return unauthorized(f"generic/{name}", verdict)
        try:
            source = Source(name)
        except ValueError:
            return JSONResponse({"error": f"unknown source {name!r}"}, status_code=404)
        return await forward(request, source, body, KEPT_HEADERS["generic"], f"generic/{name}")

    async def too_large(request: Request, exc: Exception) -> JSONResponse:
        """413 and nothing written: an oversize body cannot be verified, so it may not reach the DLQ."""
        assert isinstance(exc, BodyTooLarge)
        source = request.path_params.get("source") or request.url.path.strip("/").split("/")[0]
        log.warning("rejected %s webhook: %s (not verified, not dead-lettered)", source[:64], exc)
        return JSONResponse({"error": f"body over {exc.limit} bytes"}, status_code=413)

    async def healthz(request: Request) -> JSONResponse:
        """Liveness probe."""
        return JSONResponse({"ok": True})

    routes = [
        Route("/slack", slack, methods=["POST"]),
        Route("/github", github, methods=["POST"]),
        Route("/discourse", discourse, methods=["POST"]),
        Route("/zendesk", zendesk, methods=["POST"]),
        Route("/generic/{source}", generic, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={BodyTooLarge: too_large})
