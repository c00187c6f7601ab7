"""Where the CLI's answers come from: the store itself, or the running service that owns it.

Embedded chdb has one process per data directory. When ``valuenet up`` (or ``worker --serve``,
or ``serve``) holds it, opening the store raises :class:`StoreLockedError`; the CLI then reads
``$VALUENET_HOME/service.json`` (``valuenet.service``) and asks that service's REST API, which
runs the same ``Reader`` calls. Either way the rows are the API's rows.

>>> with open_source(get_settings()) as src:
...     rows = src.top("git-git", "365d", "pagerank", 10)
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

import httpx

from valuenet.config import Settings
from valuenet.service import ServiceInfo, discover, service_file

__all__ = ["Source", "SourceError", "LocalSource", "RemoteSource", "open_source"]

Progress = Callable[[int, int], None]
# the fields of /api/reach's ``latest`` (valuenet/web/api.py)
REACH_FIELDS = ("reach", "potential_reach", "amplification_rate", "engagement_rate", "segment")


class SourceError(RuntimeError):
    """The CLI cannot get an answer (store locked with no service, service refused the request, …)."""


class Source(Protocol):
    """What the query and export commands need."""

    where: str

    def network(self, network: str | None) -> str:
        """``network``, or the default the API would choose."""

    def stored_windows(self, network: str) -> list[str]:
        """Windows with metric snapshots for ``network``, shortest first."""

    def top(self, network: str, window: str, metric: str, limit: int, include_kinds: str | None = None) -> list[dict]:
        """Top actors of the latest snapshot by ``metric``."""

    def tunnels(self, network: str, window: str) -> list[dict]:
        """Latest SegmentFlow rows."""

    def reach(self, network: str, window: str, actor: str) -> dict | None:
        """Latest reach fields of one actor in one window (None when absent)."""

    def alerts(self, network: str, kind: str | None, limit: int) -> list[dict]:
        """Newest alerts first."""

    def export(
        self, what: str, fmt: str, window: str | None, network: str | None, out: Path, k: int, progress: Progress
    ) -> dict:
        """Write one export to ``out`` atomically (window checked against the stored ones); its manifest entry."""


class LocalSource:
    """Answers from an open Store through the same ``Reader`` calls as the API."""

    def __init__(self, store: Any, settings: Settings) -> None:
        from valuenet.analytics.storage.reader import Reader

        self.reader = Reader(store)
        self.settings = settings
        self.where = f"store {'ClickHouse server' if settings.clickhouse_url else settings.chdb_dir}"

    def network(self, network: str | None) -> str:
        """``network``, or ``Reader.default_network`` of the configured one (as the API)."""
        return network or self.reader.default_network(self.settings.network)

    def stored_windows(self, network: str) -> list[str]:
        """Windows with snapshots of ``network`` (``Reader.networks``)."""
        for n in self.reader.networks():
            if n["network"] == network:
                return list(n["windows"])
        return []

    def top(self, network: str, window: str, metric: str, limit: int, include_kinds: str | None = None) -> list[dict]:
        """``Reader.top_actors`` of ``include_kinds`` (persons by default) with display names (as ``/api/metrics/actors``)."""
        from valuenet.analytics.kinds import parse_kinds

        rows = self.reader.top_actors(network, window, metric, limit, None, parse_kinds(include_kinds))
        names = self.reader.display_names(network)
        return [{**r, "name": names.get(r["actor"])} for r in rows]

    def tunnels(self, network: str, window: str) -> list[dict]:
        """``Reader.tunnels`` (as ``/api/tunnels``)."""
        return self.reader.tunnels(network, window)

    def reach(self, network: str, window: str, actor: str) -> dict | None:
        """The actor's reach fields of ``Reader.actor_snapshot`` (as ``/api/reach``'s ``latest``)."""
        row = self.reader.actor_snapshot(network, window).get(actor)
        return {k: row[k] for k in REACH_FIELDS} if row else None

    def alerts(self, network: str, kind: str | None, limit: int) -> list[dict]:
        """``Reader.alerts`` (as ``/api/alerts``)."""
        return self.reader.alerts(network, None, limit, kind=kind)

    def export(
        self, what: str, fmt: str, window: str | None, network: str | None, out: Path, k: int, progress: Progress
    ) -> dict:
        """``analytics.exports.export`` on this store, the window checked by ``check_window``."""
        from valuenet.analytics.exports import check_window, export

        net = self.network(network)
        w = check_window(self.reader, net, window, self.settings.windows)
        return export(self.reader, what, fmt, w, net, out, k, progress=progress)


class RemoteSource:
    """Answers from a running valuenet service's REST API."""

    def __init__(self, info: ServiceInfo, settings: Settings, timeout: float = 120.0) -> None:
        token = settings.api_token.get_secret_value() if settings.api_token else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.info = info
        self.where = f"the running service at {info.url} (pid {info.pid}, `valuenet {info.role}`)"
        self.http = httpx.Client(base_url=info.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        """GET ``/api/<path>``; a non-2xx answer becomes SourceError with the service's reason."""
        try:
            r = self.http.get(f"/api/{path}", params={k: v for k, v in params.items() if v is not None})
        except httpx.HTTPError as e:
            raise SourceError(f"{self.where} did not answer: {e}") from e
        if r.status_code >= 400:
            raise SourceError(f"{self.where} answered {r.status_code}: {_detail(r)}")
        return r

    def network(self, network: str | None) -> str:
        """``network``, or the API's default network."""
        return network or str(self._get("networks", {}).json()["default"])

    def stored_windows(self, network: str) -> list[str]:
        """Windows with snapshots of ``network`` (``/api/networks``)."""
        for n in self._get("networks", {}).json()["networks"]:
            if n["network"] == network:
                return list(n["windows"])
        return []

    def top(self, network: str, window: str, metric: str, limit: int, include_kinds: str | None = None) -> list[dict]:
        """``/api/metrics/actors``."""
        params: dict[str, Any] = {"network": network, "window": window, "metric": metric, "limit": limit}
        if include_kinds:
            params["include_kinds"] = include_kinds
        doc = self._get("metrics/actors", params)
        return list(doc.json()["actors"])

    def tunnels(self, network: str, window: str) -> list[dict]:
        """``/api/tunnels``."""
        return list(self._get("tunnels", {"network": network, "window": window}).json()["tunnels"])

    def reach(self, network: str, window: str, actor: str) -> dict | None:
        """``/api/reach``'s ``latest`` (None when the actor is unknown)."""
        try:
            r = self.http.get("/api/reach", params={"network": network, "window": window, "actor": actor, "posts": 0})
        except httpx.HTTPError as e:
            raise SourceError(f"{self.where} did not answer: {e}") from e
        if r.status_code == 404:
            return None
        if r.status_code >= 400:
            raise SourceError(f"{self.where} answered {r.status_code}: {_detail(r)}")
        latest = r.json()["latest"]
        return dict(latest) if latest else None

    def alerts(self, network: str, kind: str | None, limit: int) -> list[dict]:
        """``/api/alerts``."""
        return list(self._get("alerts", {"network": network, "kind": kind, "limit": limit}).json()["alerts"])

    def export(
        self, what: str, fmt: str, window: str | None, network: str | None, out: Path, k: int, progress: Progress
    ) -> dict:
        """``/api/export``, streamed into ``out`` atomically."""
        from valuenet.analytics.exports import sha256_file

        params = {"what": what, "format": fmt, "window": window, "network": network, "k": k}
        params = {key: v for key, v in params.items() if v is not None}
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        try:
            with os.fdopen(fd, "wb") as f, self.http.stream("GET", "/api/export", params=params) as r:
                if r.status_code >= 400:
                    r.read()
                    raise SourceError(f"{self.where} answered {r.status_code}: {_detail(r)}")
                total = int(r.headers.get("content-length") or 0)
                for chunk in r.iter_bytes(1 << 16):
                    f.write(chunk)
                    progress(r.num_bytes_downloaded, max(total, r.num_bytes_downloaded))
                rows, suppressed = int(r.headers["x-valuenet-rows"]), int(r.headers["x-valuenet-suppressed"])
                network, window = unquote(r.headers["x-valuenet-network"]), unquote(r.headers["x-valuenet-window"])
            os.replace(tmp, out)
        except httpx.HTTPError as e:
            raise SourceError(f"{self.where} did not answer: {e}") from e
        finally:
            Path(tmp).unlink(missing_ok=True)
        return {
            "file": out.name,
            "what": what,
            "format": fmt,
            "network": network,
            "window": window,
            "rows": rows,
            "suppressed": suppressed,
            "bytes": out.stat().st_size,
            "sha256": sha256_file(out),
        }


def _detail(r: httpx.Response) -> str:
    """The ``detail`` of a FastAPI error answer, readable."""
    try:
        detail = r.json().get("detail")
    except ValueError:
        return r.text[:300]
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(str(x) for x in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    return str(detail)


class _HeldStderr:
    """What native code wrote to fd 2 while held; ``drop`` discards it."""

    def __init__(self) -> None:
        self.keep = True

    def drop(self) -> None:
        """Do not write the held output out."""
        self.keep = False


@contextmanager
def _held_stderr() -> Iterator[_HeldStderr]:
    """Hold what native code writes to fd 2 (chdb prints its errors there); written out on exit unless dropped."""
    held = _HeldStderr()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield held
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read()
            if held.keep and text:
                sys.stderr.buffer.write(text)
                sys.stderr.flush()


@contextmanager
def open_source(settings: Settings) -> Iterator[LocalSource | RemoteSource]:
    """The store when this process can open it; else the service that holds it; else SourceError."""
    from valuenet.analytics.storage import StorageError, StoreLockedError, open_store

    store = None
    info: ServiceInfo | None = None
    try:
        with _held_stderr() as held:
            try:
                store = open_store(settings)
            except StoreLockedError:
                held.drop()  # chdb printed the lock error itself: the message below says it better
                raise
    except StoreLockedError as e:
        info = discover(settings)
        if info is None:
            raise SourceError(
                f"the embedded store {settings.chdb_dir} is held by another process, and no running valuenet "
                f"service advertises an API for it in {service_file(settings)}. Run the pipeline with an API "
                "(`valuenet up`, `valuenet worker --serve` or `valuenet serve`), or stop the process that holds "
                "the store, or use a ClickHouse server (CLICKHOUSE_URL)."
            ) from e
    except StorageError as e:
        raise SourceError(f"cannot open the store: {e}") from e
    except Exception as e:  # driver errors (server down, bad URL) become one clear line
        raise SourceError(f"cannot open the store ({type(e).__name__}): {e}") from e
    if store is None:
        assert info is not None
        remote = RemoteSource(info, settings)
        try:
            yield remote
        finally:
            remote.close()
        return
    try:
        yield LocalSource(store, settings)
    finally:
        store.close()
