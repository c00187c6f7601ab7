"""One read model: ``valuenet top`` and ``GET /api/metrics/actors`` rank from the same Reader query;
the palette and the segment / flow-type names are defined once and served to the page."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from valuenet.analytics.storage import Store, open_store
from valuenet.cli import app as cli_app
from valuenet.config import Settings, get_settings
from valuenet.schemas import ActorMetrics, FlowType, Segment
from valuenet.schemas.palette import FLOW_COLOURS, FLOW_TYPES, SEGMENT_COLOURS, SEGMENTS
from valuenet.web.app import STATIC_DIR, create_app

WINDOW = "1h"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def _tick(network: str, computed_at: datetime, pagerank: dict[str, float]) -> list[ActorMetrics]:
    return [
        ActorMetrics(network=network, window=WINDOW, computed_at=computed_at, window_end=T0, actor=a, pagerank=pr)
        for a, pr in pagerank.items()
    ]


@pytest.fixture
def ranked_store(chdb_dir: Path, tmp_path: Path) -> Iterator[tuple[Settings, Store, str]]:
    """Two ticks in the same second with opposite rankings; the newer one replayed (stored twice)."""
    network = f"rank-{uuid.uuid4().hex[:8]}"
    settings = Settings(home=tmp_path, chdb_path=chdb_dir, network=network, windows=[WINDOW])
    store = open_store(settings)
    old = _tick(network, T0 + timedelta(milliseconds=250), {"ana": 0.5, "ben": 0.3, "cai": 0.2})
    new = _tick(network, T0 + timedelta(milliseconds=750), {"ana": 0.1, "ben": 0.3, "cai": 0.6})
    store.write_models("actor_metrics", old + new)
    store.write_models("actor_metrics", new)  # a replayed snapshot: same rows again
    try:
        yield settings, store, network
    finally:
        store.close()


def test_valuenet_top_and_the_api_rank_alike(ranked_store: tuple[Settings, Store, str], tmp_path: Path) -> None:
    settings, store, network = ranked_store
    with TestClient(create_app(settings, store, kafka=False, feed_poll_seconds=3600)) as client:
        r = client.get("/api/metrics/actors", params={"network": network, "window": WINDOW, "limit": 10})
        assert r.status_code == 200, r.text
        api = [(a["actor"], a["pagerank"]) for a in r.json()["actors"]]
    # the newest tick only (computed_at_ms, not the shared second), each actor once (the replay dropped)
    assert api == [("cai", 0.6), ("ben", 0.3), ("ana", 0.1)]

    env = {
        "VALUENET_HOME": str(tmp_path),
        "VALUENET_CHDB_PATH": str(settings.chdb_dir),
        "VALUENET_NETWORK": network,
        "VALUENET_CONFIG": str(tmp_path / "none.toml"),
        "CLICKHOUSE_URL": "",
    }
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(cli_app, ["top", "--window", WINDOW, "--limit", "10", "--json"], env=env)
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    cli = [(a["actor"], a["pagerank"]) for a in json.loads(out.stdout)]
    assert cli == api


def test_palette_covers_every_segment_and_flow_type() -> None:
    assert SEGMENTS == tuple(s.value for s in Segment)
    assert set(FLOW_TYPES) == {f.value for f in FlowType} - {"none"}
    assert set(SEGMENT_COLOURS) == set(SEGMENTS) and set(FLOW_COLOURS) == set(FLOW_TYPES)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in [*SEGMENT_COLOURS.values(), *FLOW_COLOURS.values()])


def test_the_page_and_api_meta_serve_the_one_palette(chdb_store: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, chdb_path=tmp_path / "unused", network="n", windows=[WINDOW])
    with TestClient(create_app(settings, chdb_store, kafka=False, feed_poll_seconds=3600)) as client:
        meta = client.get("/api/meta").json()
        page = client.get("/").text
    assert meta == {
        "segments": list(SEGMENTS),
        "flow_types": list(FLOW_TYPES),
        "palette": {"segments": SEGMENT_COLOURS, "flows": FLOW_COLOURS},
    }
    palette = json.loads(re.search(r"window\.VNPalette = (\{.*?\});</script>", page).group(1))  # type: ignore[union-attr]
    assert palette == meta["palette"]
    head = page[: page.index("</head>")]
    assert head.index("window.VNPalette") < head.index("/static/style.css")  # before every script and style
    for name, colour in {**SEGMENT_COLOURS, **FLOW_COLOURS}.items():
        assert f"--{name}: {colour};" in head
    # the static files carry no copy of these colours
    for f in ("style.css", "app.js"):
        text = (STATIC_DIR / f).read_text(encoding="utf-8").lower()
        assert not [c for c in FLOW_COLOURS.values() if c in text], f
