"""The periodic report, built from a real chdb store filled by the synthetic company through the real stage.

The store (``tests/report_seed.py``) holds the flows, the directory and the snapshots a worker
would have written every 2 h of event time. Independent checks: the report's rebuilt window
against the last stored tick of the same window (tunnels, brokers), the directory's names, the
planted silo teams of the generator's ground truth, and the k rule on every group-level section.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.fixtures_clickhouse import _drop, fresh_database_name
from tests.report_seed import NETWORK, WINDOW, fill_store
from valuenet.analytics.report import SECTIONS, ReportError, build_report, render_html, write_report
from valuenet.analytics.storage.reader import Reader
from valuenet.config import Settings
from valuenet.schemas import NetworkMetrics
from valuenet.web.report import valuemap_svg

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def filled(chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(store, reader, truth): one chdb database filled once for the module."""
    from valuenet.analytics.storage.chdb_store import ChdbStore

    store = ChdbStore(chdb_dir, database=fresh_database_name())
    store.setup()
    truth = fill_store(store, tmp_path_factory.mktemp("report-synth"))
    yield store, Reader(store), truth
    _drop(store)


@pytest.fixture(scope="module")
def report(filled: tuple):
    """The report of the last 12 h against the 12 h before, k = 5."""
    return build_report(filled[1], NETWORK, WINDOW, k=5)


def page_count(pdf: bytes) -> int:
    """Page objects of a PDF (``/Type /Page``, not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_tunnels_and_brokers_agree_with_the_last_stored_tick(filled: tuple, report) -> None:
    _, reader, _ = filled
    assert not report.empty and report.period == WINDOW
    stored = {(t["src_segment"], t["dst_segment"]): t for t in reader.tunnels(NETWORK, WINDOW)}
    shown = [c for c in report.heatmap if not c["suppressed"] and c["flows"]]
    assert shown
    for c in shown:
        assert c["flows"] == stored[(c["src"], c["dst"])][c["flow_type"]], c
        assert c["delta"] == c["flows"] - c["prev"]
    top = reader.top_actors(NETWORK, WINDOW, "brokerage", 5)
    assert [r.actor for r in report.brokers] == [r["actor"] for r in top]
    assert [r.value for r in report.brokers] == pytest.approx([r["brokerage"] for r in top])
    names = reader.display_names(NETWORK)
    for r in report.brokers + report.influencers + report.key_persons:
        assert r.name == names[r.actor]
        assert r.delta is None or r.delta == pytest.approx(r.value - r.prev)
    # the previous period really is another window: somebody's value changed
    assert any(r.delta not in (None, 0) for r in report.brokers)


def test_planted_silos_show_and_groups_under_k_never_do(filled: tuple, report) -> None:
    _, _, truth = filled
    silos = {s["group"]: s for s in report.silos}
    for team in truth["silo_teams"]:
        row = next(s for g, s in silos.items() if g.endswith("/" + team))
        assert row["ei"] <= -0.5 and row["state"] in ("silo", "forming")
    assert all(s["members"] >= 5 or s["state"] == "dissolving" for s in report.silos)
    actors = len({a for link in report.sankey for a in [link["team"]]})
    assert actors >= 2
    assert all(link["actors"] >= 5 for link in report.sankey)
    assert report.valuemap and all(r["pairs"] >= 5 for r in report.valuemap) and report.valuemap_thin > 0
    total = sum(link["actors"] for link in report.sankey) + report.sankey_suppressed
    assert total == report.summary[0]["value"]  # every actor of the window is in the Sankey or counted as hidden
    strict = build_report(filled[1], NETWORK, WINDOW, k=12)
    assert all(c["suppressed"] or c["pairs"] is None or c["pairs"] >= 12 or not c["flows"] for c in strict.heatmap)
    assert strict.heatmap_suppressed > report.heatmap_suppressed
    assert all(link["actors"] >= 12 for link in strict.sankey)
    assert not any(g.startswith("workforce/") for g in {s["group"] for s in strict.silos})  # 9-person teams fold


def test_three_introductions_with_their_effect_and_the_periods_alerts(filled: tuple, report) -> None:
    _, reader, _ = filled
    assert len(report.introductions) == 3
    for r in report.introductions:
        assert r["effect"] and r["reason"] and r["hops_saved"] > 0
    section = render_html(report, valuemap_svg).split('id="introductions"', 1)[1].split("</section>", 1)[0]
    assert section.count("<li>") == sum(len(r["effect"]) for r in report.introductions) and "['" not in section
    assert report.alerts and {a["raised_at"] for a in report.alerts} <= {
        a["raised_at"] for a in reader.alerts(NETWORK, None, 500)
    }
    assert len(report.trend_points) >= 3
    assert [p["t"] for p in report.trend_points] == sorted(p["t"] for p in report.trend_points)


def test_names_can_be_left_out(filled: tuple) -> None:
    rep = build_report(filled[1], NETWORK, WINDOW, k=5, names=False)
    html = render_html(rep, valuemap_svg)
    names = filled[1].display_names(NETWORK)
    assert all(r.name is None for r in rep.brokers)
    assert not [n for n in names.values() if n in html]
    assert rep.brokers[0].actor in html


def test_unknown_network_or_window_lists_the_stored_ones(filled: tuple) -> None:
    reader = filled[1]
    with pytest.raises(ReportError, match=r"network 'nope' is not in the store; stored networks: .*synth"):
        build_report(reader, "nope", WINDOW)
    with pytest.raises(ReportError, match=r"window '7d' has no snapshots for network 'synth'; stored windows: 12h"):
        build_report(reader, NETWORK, "7d")
    with pytest.raises(ReportError, match=r"since: duration 'soon'"):
        build_report(reader, NETWORK, WINDOW, "soon")


def test_a_report_of_an_empty_window_says_so(filled: tuple) -> None:
    store, reader, _ = filled
    store.write_models(
        "network_metrics",
        [
            NetworkMetrics(
                network="quiet", window="1h", computed_at="2026-01-05T10:00:00Z", window_end="2026-01-05T10:00:00Z"
            )
        ],
    )
    rep = build_report(reader, "quiet", "1h")
    assert rep.empty
    html = render_html(rep, valuemap_svg)
    for sid, _ in SECTIONS:
        section = html.split(f'id="{sid}"', 1)[1].split("</section>", 1)[0]
        if sid in ("summary", "valuemap", "tunnels", "people", "silos", "introductions", "communities"):
            assert "No flows in this period" in section, sid
            assert "<svg" not in section, sid  # no empty chart drawn


def test_pdf_has_a_page_per_section(filled: tuple, report, tmp_path: Path) -> None:
    html = render_html(report, valuemap_svg)
    entry = write_report(html, tmp_path / "week.pdf")
    data = (tmp_path / "week.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and entry["format"] == "pdf" and entry["bytes"] == len(data)
    assert len(SECTIONS) <= page_count(data) <= 2 * len(SECTIONS)
    assert not list(tmp_path.glob(".*"))  # nothing staged left behind


def test_api_report_html_pdf_and_bad_input(filled: tuple, tmp_path: Path) -> None:
    from valuenet.web.app import create_app

    store = filled[0]
    settings = Settings(home=tmp_path, network=NETWORK, windows=(WINDOW,), api_token="s3cret-token-for-tests")
    auth = {"Authorization": "Bearer s3cret-token-for-tests"}
    with TestClient(create_app(settings, store, kafka=False, feed_poll_seconds=3600)) as c:
        assert c.get("/api/report", params={"network": NETWORK}).status_code == 401
        r = c.get("/api/report", params={"network": NETWORK, "window": WINDOW}, headers=auth)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert all(f'id="{sid}"' in r.text for sid, _ in SECTIONS)
        bad = c.get("/api/report", params={"network": "nope", "window": WINDOW}, headers=auth)
        assert bad.status_code == 404 and "stored networks: " in bad.json()["detail"]
        bad = c.get("/api/report", params={"network": NETWORK, "window": "7d"}, headers=auth)
        assert bad.status_code == 404 and "stored windows: 12h" in bad.json()["detail"]
        bad = c.get("/api/report", params={"network": NETWORK, "since": "x"}, headers=auth)
        assert bad.status_code == 422
        bad = c.get("/api/report", params={"network": NETWORK, "format": "docx"}, headers=auth)
        assert bad.status_code == 422
        pdf = c.get("/api/report", params={"network": NETWORK, "format": "pdf"}, headers=auth)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-") and page_count(pdf.content) >= len(SECTIONS)


def test_api_report_is_503_when_the_store_is_down(filled: tuple, tmp_path: Path) -> None:
    from valuenet.web.app import create_app

    class Down:
        def query(self, sql: str, params: dict | None = None) -> list[dict]:
            raise ConnectionError("store unreachable")

    settings = Settings(home=tmp_path, network=NETWORK, windows=(WINDOW,))
    with TestClient(create_app(settings, Down(), kafka=False, feed_poll_seconds=3600)) as c:
        r = c.get("/api/report", params={"network": NETWORK, "window": WINDOW})
        assert r.status_code == 503


def test_report_command_in_its_own_process(tmp_path: Path) -> None:
    """``valuenet report`` on its own chdb store (chdb allows one process per data directory)."""
    home = tmp_path / "home"
    env = {
        **os.environ,
        "VALUENET_HOME": str(home),
        "VALUENET_CHDB_PATH": str(home / "chdb"),
        "VALUENET_NETWORK": NETWORK,
        "VALUENET_WINDOWS": f'["{WINDOW}"]',
        "VALUENET_CONFIG": str(tmp_path / "none.toml"),
    }
    env.pop("CLICKHOUSE_URL", None)
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from pathlib import Path\n"
        "from valuenet.analytics.storage import open_store\n"
        "from valuenet.config import get_settings\n"
        "from tests.report_seed import fill_store\n"
        f"s = open_store(get_settings()); fill_store(s, Path({str(tmp_path / 'synth')!r}), events=1500); s.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=600, cwd=ROOT)
    out = tmp_path / "out" / "report.html"
    cmd = [sys.executable, "-m", "valuenet.cli", "report", "--network", NETWORK, "--window", WINDOW]
    r = subprocess.run(cmd + ["--out", str(out)], env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert "wrote the report to" in r.stderr and all(f'id="{sid}"' in html for sid, _ in SECTIONS)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing loaded from the network
    bad = subprocess.run(
        [*cmd[:5], "nope", "--window", WINDOW, "--out", str(out)], env=env, capture_output=True, text=True, timeout=600
    )
    assert bad.returncode == 1 and "stored networks: synth" in bad.stderr
    bad = subprocess.run(
        [*cmd[:6], "--window", "30d", "--out", str(out)], env=env, capture_output=True, text=True, timeout=600
    )
    assert bad.returncode == 1 and "stored windows: 12h" in bad.stderr
    # scheduled: `valuenet export --schedule --once` with a report job, announced on a local Slack receiver
    toml = tmp_path / "valuenet.toml"
    toml.write_text(
        f'[[exports]]\ncron = "0 7 * * 1"\nwhat = "report"\nformat = "html"\nwindow = "{WINDOW}"\nnetwork = "{NETWORK}"\n'
    )
    with SlackReceiver(fail_first=1) as slack:
        sched = {
            **env,
            "VALUENET_CONFIG": str(toml),
            "VALUENET_EXPORT_DIR": str(tmp_path / "exports"),
            "VALUENET_REPORT_SLACK_WEBHOOK_URL": slack.url,
        }
        r = subprocess.run(
            [sys.executable, "-m", "valuenet.cli", "export", "--schedule", "--once"],
            env=sched,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
    assert r.returncode == 0, r.stderr
    (run,) = (tmp_path / "exports").iterdir()
    assert (run / "synth-report-12h.html").read_text().count('class="report-section"') == len(SECTIONS)
    assert len(slack.bodies) == 2 and "synth-report-12h.html" in slack.bodies[-1]["text"]
    assert "secretpart" not in r.stderr + r.stdout


@pytest.mark.browser
def test_dashboard_report_button_opens_a_report_with_every_section_filled(filled: tuple, tmp_path: Path) -> None:
    """Headless Chromium (Playwright) clicks Report on the dashboard; no request leaves 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    from tests.test_api import LiveServer
    from valuenet.web.app import create_app

    settings = Settings(home=tmp_path, network=NETWORK, windows=(WINDOW,))
    app = create_app(settings, filled[0], kafka=False, feed_poll_seconds=3600)
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with LiveServer(app) as srv, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 1000})
            requests: list[str] = []
            context.on("request", lambda req: requests.append(req.url))
            page = context.new_page()
            page.goto(srv.url + "/")
            page.wait_for_selector("#window option[value='12h']", state="attached")
            page.wait_for_selector("#network option[value='synth']", state="attached")
            page.select_option("#network", NETWORK)
            page.select_option("#window", WINDOW)
            with context.expect_page(timeout=180_000) as opened:
                page.click("#report-open")
            rep = opened.value
            rep.wait_for_selector("#communities svg", timeout=180_000)
            assert "network=synth" in rep.url and "window=12h" in rep.url
            for sid, title in SECTIONS:
                section = rep.locator(f"section#{sid}")
                assert section.locator("h2").inner_text() == title
                text = section.inner_text().replace(title, "").strip()
                assert len(text) > 40, (sid, text)
                assert "No flows in this period" not in text, sid
            for sid in ("valuemap", "tunnels", "people", "trends", "communities"):
                assert rep.locator(f"section#{sid} svg").count() >= 1, sid
            assert rep.locator("#valuemap .vm-exchange").count() > 0
            assert rep.locator("#tunnels .hm-cell").count() > 0
            assert rep.locator("#communities .sankey-link").count() >= 2
            assert rep.locator("#introductions .intro").count() == 3
            rep.screenshot(path=str(artifacts / "report.png"), full_page=True)
            foreign = [u for u in requests if not u.startswith(srv.url) and not u.startswith(("data:", "blob:"))]
            assert foreign == []
        finally:
            browser.close()


class SlackReceiver:
    """A local stand-in for a Slack incoming webhook on 127.0.0.1: answers ``fail_first`` posts with 500."""

    def __init__(self, fail_first: int) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.bodies: list[dict] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                ok = len(outer.bodies) > outer.fail_first
                self.send_response(200 if ok else 500)
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"internal_error")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secretpart"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SlackReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _scheduled_run(reader: Reader, out_dir: Path) -> Path:
    from valuenet.analytics.exports import ExportJob, export, run_jobs
    from valuenet.commands.report import report_exporter

    jobs = [
        ExportJob(cron="0 * * * *", what="report", format="html", window=WINDOW, network=NETWORK),
        ExportJob(cron="0 * * * *", what="tunnels", format="csv", window=WINDOW, network=NETWORK),
    ]

    def table(what: str, fmt: str, window: str, net: str, out: Path, k: int) -> dict:
        return export(reader, what, fmt, window, net, out, k)

    return run_jobs(report_exporter(reader, table), jobs, out_dir, NETWORK, 5)


def test_scheduled_report_lands_with_its_manifest_and_is_posted_after_retries(filled: tuple, tmp_path: Path) -> None:
    import hashlib
    import json

    from valuenet.analytics.report.slack import announce_run

    run = _scheduled_run(filled[1], tmp_path / "exports")
    manifest = json.loads((run / "manifest.json").read_text())
    files = {f["file"]: f for f in manifest["files"]}
    assert set(files) == {"synth-report-12h.html", "synth-tunnels-12h.csv"}
    report_file = run / "synth-report-12h.html"
    assert files[report_file.name]["sha256"] == hashlib.sha256(report_file.read_bytes()).hexdigest()
    assert files[report_file.name]["what"] == "report" and files[report_file.name]["window"] == WINDOW
    assert [p.name for p in (tmp_path / "exports").iterdir()] == [run.name]  # no staging directory left
    with SlackReceiver(fail_first=2) as slack:
        assert announce_run(run, slack.url, attempts=4, wait_base=0.01, wait_max=0.05) == [True]
    assert len(slack.bodies) == 3  # two 500s, retried, then accepted
    assert str(report_file) in slack.bodies[-1]["text"] and "synth" in slack.bodies[-1]["text"]


def test_a_failed_slack_post_is_logged_and_loses_nothing(
    filled: tuple, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from valuenet.analytics.report.slack import announce_run

    run = _scheduled_run(filled[1], tmp_path / "exports")
    before = (run / "synth-report-12h.html").read_bytes()
    with SlackReceiver(fail_first=99) as slack, caplog.at_level("DEBUG"):
        assert announce_run(run, slack.url, attempts=3, wait_base=0.01, wait_max=0.05) == [False]
    assert len(slack.bodies) == 3
    assert "Slack post failed after 3 attempts" in caplog.text and "stays on disk" in caplog.text
    assert "secretpart" not in caplog.text  # the webhook URL is a secret
    assert (run / "synth-report-12h.html").read_bytes() == before


def test_exports_configuration_accepts_report_jobs() -> None:
    from pydantic import ValidationError

    from valuenet.analytics.exports import ExportError, export
    from valuenet.config import ExportSchedule

    job = ExportSchedule(cron="0 8 * * 1", what="report", format="pdf", window="7d")
    assert job.filename == "report-7d.pdf"
    with pytest.raises(ValidationError, match="cannot be written as 'csv'"):
        ExportSchedule(cron="0 8 * * 1", what="report", format="csv")
    with pytest.raises(ExportError, match="valuenet report"):
        export(None, "report", "html", WINDOW, NETWORK, Path("x.html"))  # type: ignore[arg-type]
