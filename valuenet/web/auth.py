"""Bearer-token check: required whenever a token is configured, and a token is required off loopback."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import HTTPException, Request, status

__all__ = ["is_loopback", "require_token_for_host", "TokenGuard", "InsecureBindError"]


class InsecureBindError(RuntimeError):
    """Serving on a non-loopback address without a token."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_token_for_host(host: str, token: str | None) -> None:
    """Raise InsecureBindError when ``host`` is not loopback and no token is set."""
    if not is_loopback(host) and not token:
        raise InsecureBindError(
            f"refusing to serve on {host}: not a loopback address and no token; "
            "set VALUENET_API_TOKEN (or bind to 127.0.0.1)"
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
