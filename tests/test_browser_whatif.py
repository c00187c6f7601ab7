"""Headless Chromium on the dashboard's what-if panel and Rearrange view, over stored synth flows.

The service computes in its child process from the flows in ClickHouse; the page must show the
recommendations and key persons the API returns, and a what-if report for the actor it is on.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.test_api import LiveServer
from tests.test_browser import CHROMIUM
from tests.test_whatif import WINDOW, _brokers, _synth
from valuenet.config import Settings
from valuenet.web.app import create_app

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(**CHROMIUM)
        yield b
        b.close()


def test_rearrange_view_and_actor_whatif_panel(browser, chdb_store, tmp_path: Path) -> None:
    truth, flows = _synth(tmp_path, 11)
    chdb_store.write_models("flows", flows)
    with (tmp_path / "directory.csv").open(encoding="utf-8") as f:  # the names the stage would note
        people = list(csv.DictReader(f))
    now = datetime.now(UTC)
    chdb_store.write(
        "directory",
        [
            {
                "network": "synth",
                "actor": f"person:{p['person']}",
                "display_name": p["name"],
                "segment": p["segment"],
                "team": p["team"] or None,
                "organisation": None,
                "updated_at": now,
            }
            for p in people
        ],
    )
    settings = Settings(windows=[WINDOW], network="synth")
    broker = sorted(_brokers(truth))[0]
    silo = truth["silo_teams"][0]
    with LiveServer(create_app(settings, chdb_store, kafka=False, feed_poll_seconds=3600)) as srv:
        recs = httpx.get(f"{srv.url}/api/recommendations", params={"network": "synth"}, timeout=120).json()
        kp = httpx.get(f"{srv.url}/api/keyperson", params={"network": "synth"}, timeout=120).json()
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{srv.url}/#rearrange")
        page.wait_for_selector("#rearrange-recs .rec", timeout=60_000)
        titles = page.locator("#rearrange-recs .rec h3").all_inner_texts()
        assert len(titles) == len(recs["recommendations"]) == 5
        for t, r in zip(titles, recs["recommendations"]):
            assert r["actor_a"] in t and r["actor_b"] in t
            assert r["name_a"] and f"{r['name_a']} ({r['actor_a']})" in t  # the name beside the key
        assert any(f"workforce/{silo}" in t for t in titles)
        page.wait_for_selector("#rearrange-kp table tr:nth-child(2)", timeout=60_000)
        first = page.locator("#rearrange-kp table tr:nth-child(2) td:nth-child(2)").inner_text()
        assert first == kp["actors"][0]["actor"]
        name = page.locator("#rearrange-kp table tr:nth-child(2) td:nth-child(3)").inner_text()
        assert name == kp["actors"][0]["name"] and name != "–"
        page.locator("#rearrange-kp table tr:nth-child(2) button").click()
        page.wait_for_selector("#rearrange-whatif .whatif-summary li", timeout=60_000)
        assert "cut" in page.locator("#rearrange-whatif").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "rearrange.png"), full_page=True)

        page.goto(f"{srv.url}/#actor/{broker}")
        page.wait_for_selector("#whatif-actor button", timeout=60_000)
        page.locator("#whatif-actor button").first.click()
        page.wait_for_selector("#whatif-actor .whatif-summary li", timeout=60_000)
        text = page.locator("#whatif-actor").inner_text()
        assert "remove actor" in text and broker in text and "partner" in text  # "remove actor Name (key)"
        page.screenshot(path=str(ARTIFACTS / "actor-whatif.png"), full_page=True)
        page.close()
