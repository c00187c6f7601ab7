"""Every API route through hypothesis: hostile strings, extreme numbers, lone surrogates → 4xx, never 5xx.

With the store down, the only 5xx allowed is 503. Also: the security headers on every answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_api import client, seeded  # noqa: F401 - the seeded chdb store and its client
from valuenet.web.app import create_app

SKIP = {"/api/feed"}  # an endless Server-Sent Events stream
HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "%00",
        "'; DROP TABLE flows; --",
        "\\ud800",
        "9" * 400,
        "-9" * 200,
        "1e308",
        "nan",
        "inf",
        "-1",
        "0",
        "999999d",
        "0s",
        "1h",
        "24h",
        "acme",
        "ana",
        "knowledge",
        "../../etc/passwd",
        "\u202e\ufeff",
        "x" * 5000,
        "\U0001f600",
        "a,b,,c",
        "csv",
        "parquet",
        "gexf",
        "json",
        "pagerank",
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
VALUE = st.one_of(HOSTILE, NUMBERS, TEXT)
# JSON bodies can carry what a query string cannot: lone surrogates, nesting, wrong types
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), VALUE, st.just("\ud800")),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(VALUE, inner, max_size=3),
    max_leaves=8,
)


def operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every documented /api route."""
    out = []
    for path, item in app.openapi()["paths"].items():
        if not path.startswith("/api/") or path in SKIP:
            continue
        for method, op in item.items():
            out.append((method.upper(), path, op))
    return out


def body_fields(app: Any, op: dict[str, Any]) -> list[str]:
    """Property names of an operation's JSON body schema."""
    ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    if not ref:
        return []
    schema = app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return list(schema.get("properties", {}))


def call(c: TestClient, method: str, path: str, op: dict[str, Any], data: st.DataObject) -> Any:
    """One request with every parameter of ``op`` drawn from the hostile strategies."""
    url, query = path, {}
    for p in op.get("parameters", []):
        value = data.draw(VALUE, label=p["name"])
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", quote(value, safe="") or "%20")
        elif p["in"] == "query" and data.draw(st.booleans(), label=f"send {p['name']}"):
            query[p["name"]] = value
    if method == "GET":
        return c.get(url, params=query)
    fields = body_fields(c.app, op)
    body = {f: data.draw(JSON_VALUE, label=f) for f in fields if data.draw(st.booleans(), label=f"send {f}")}
    raw = json.dumps(body, ensure_ascii=True).encode()  # \ud800 arrives as a lone surrogate escape
    return c.request(method, url, params=query, content=raw, headers={"content-type": "application/json"})


@pytest.fixture(scope="module")
def ops(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:  # noqa: F811
    return operations(client.app)


def test_every_route_is_covered(ops: list) -> None:
    paths = {p for _, p, _ in ops}
    assert {"/api/labels", "/api/flows/timeline", "/api/actors/{actor}", "/api/metrics/actors"} <= paths
    assert len(ops) >= 15


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_route_answers_5xx_to_hostile_input(client: TestClient, ops: list, data: st.DataObject) -> None:  # noqa: F811
    method, path, op = data.draw(st.sampled_from(ops), label="route")
    r = call(client, method, path, op, data)
    # /api/dlq reads the dead-letter topic: without a broker (this lane starts none) its answer is the 503 the
    # API promises when Kafka is down; with one it must stay < 500 like every other route
    kafka_down = path == "/api/dlq" and r.status_code == 503 and "dead-letter topic unavailable" in r.text
    assert r.status_code < 500 or kafka_down, (method, path, r.status_code, r.text[:500])
    r.content.decode("utf-8")  # every answer is valid UTF-8 (no surrogate leaked into JSON)


def test_the_reported_500s_are_4xx_now(client: TestClient) -> None:  # noqa: F811
    body = b'{"network": "acme", "event_id": "\\ud800", "label": "idea"}'
    r = client.post("/api/labels", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "event_id" in r.text
    r = client.get("/api/flows/timeline", params={"bucket": "999999d"})
    assert r.status_code == 422 and "bucket" in r.text


class DownStore:
    """A store whose every call fails like a ClickHouse server that went away."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def down(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("Connection refused (store down)")

        return down


@pytest.fixture(scope="module")
def down_client(seeded: tuple) -> Iterator[TestClient]:  # noqa: F811
    cfg, store, _ = seeded
    with TestClient(create_app(cfg, DownStore(store), kafka=False, feed_poll_seconds=3600)) as c:
        yield c


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_with_the_store_down_the_only_5xx_is_503(down_client: TestClient, ops: list, data: st.DataObject) -> None:
    method, path, op = data.draw(st.sampled_from(ops), label="route")
    r = call(down_client, method, path, op, data)
    assert r.status_code < 500 or r.status_code == 503, (method, path, r.status_code, r.text[:500])


def test_pages_carry_csp_and_frame_ancestors(client: TestClient) -> None:  # noqa: F811
    for url in ("/", "/api/networks", "/static/app.js", "/healthz"):
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "script-src 'self'" in csp, url
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
