"""Who may call the API: a bearer token off loopback (at least 32 characters), and on loopback a Host allow-list.

A token-less API on 127.0.0.1 is still reachable from a browser page through DNS rebinding (a
hostile name that resolves to 127.0.0.1): the page's requests carry the hostile name in ``Host``.
:class:`HostAllowList` answers 421 to every Host but ``localhost``, ``127.0.0.1``, ``[::1]``, the
bind address and the names of ``VALUENET_API_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request, status

__all__ = [
    "MIN_TOKEN_CHARS",
    "LOOPBACK_HOSTS",
    "is_loopback",
    "require_token_for_host",
    "TokenGuard",
    "InsecureBindError",
    "HostAllowList",
    "host_name",
]

#: Shortest ``VALUENET_API_TOKEN`` accepted when the API binds beyond loopback (``secrets.token_urlsafe(32)``: 43).
MIN_TOKEN_CHARS = 32
#: Host names the loopback API always answers to.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class InsecureBindError(RuntimeError):
    """Serving on a non-loopback address without a token, or with a token too short to resist guessing."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_token_for_host(host: str, token: str | None) -> None:
    """Raise InsecureBindError (one line naming VALUENET_API_TOKEN) when ``host`` is not loopback and the token is
    missing or shorter than :data:`MIN_TOKEN_CHARS`."""
    if is_loopback(host):
        return
    if not token:
        raise InsecureBindError(
            f"refusing to serve on {host}: not a loopback address and no token; "
            f"set VALUENET_API_TOKEN (at least {MIN_TOKEN_CHARS} characters) or bind to 127.0.0.1"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise InsecureBindError(
            f"refusing to serve on {host}: VALUENET_API_TOKEN has {len(token)} characters, at least "
            f"{MIN_TOKEN_CHARS} are required beyond loopback (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )


class TokenGuard:
    """FastAPI dependency: checks ``Authorization: Bearer <token>`` in constant time."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else None

    @property
    def enabled(self) -> bool:
        """True when requests must carry the token."""
        return self._token is not None

    def __call__(self, request: Request) -> None:
        """Let the request through or raise 401."""
        if self._token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self._token)
        if not ok:
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="missing or invalid bearer token" if header else "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )


def host_name(value: str) -> str:
    """The name of a ``Host`` header value (or an allow-list entry): port dropped, lower case, no trailing dot,
    an IPv6 address in brackets (``[::1]:8000`` → ``[::1]``, ``::1`` → ``[::1]``)."""
    v = value.strip().lower()
    if v.startswith("["):
        end = v.find("]")
        return v[: end + 1] if end > 0 else v
    if v.count(":") > 1:  # a bare IPv6 address (an allow-list entry)
        return f"[{v}]"
    return v.rsplit(":", 1)[0].rstrip(".") if ":" in v else v.rstrip(".")


class HostAllowList:
    """ASGI middleware: requests whose ``Host`` is not allowed get 421 (DNS rebinding defence of the loopback API)."""

    def __init__(self, app: Any, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(host_name(h) for h in (*LOOPBACK_HOSTS, *allowed) if h.strip())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Pass allowed requests on; answer the others 421 (HTTP) or close them (WebSocket)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers", ()) if k == b"host"), None)
        name = host_name(raw.decode("latin-1")) if raw is not None else None
        if name in self.allowed:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps(
            {
                "detail": "host not allowed: this API on loopback answers only localhost, 127.0.0.1 and [::1] "
                "(add other names to VALUENET_API_ALLOWED_HOSTS)"
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
