"""The Grafana dashboard and its provisioning: structure, wiring to docker-compose.yml, and every query run for real.

Each panel's SQL (and each template variable's) runs on the real tables — chdb and Debian's
clickhouse-server 18.16 — with the ClickHouse data source plugin's macros substituted the way the
plugin expands them, over the API tests' seed; the answers are compared with the Reader's.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_api import BASE, NET, build_seed, write_seed
from valuenet.analytics.storage.reader import Reader

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "valuenet.json"
PLUGIN = "grafana-clickhouse-datasource"
FROM, TO = BASE - timedelta(days=1), BASE + timedelta(hours=1)
INTERVAL_S = 60


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def expand(sql: str, variables: dict[str, str]) -> str:
    """The SQL the plugin sends: its macros expanded for [FROM, TO] and the template variables filled in."""
    t0, t1 = int(FROM.timestamp()), int(TO.timestamp())
    sql = re.sub(
        r"\$__timeFilter\((\w+)\)", lambda m: f"{m[1]} >= toDateTime({t0}) AND {m[1]} <= toDateTime({t1})", sql
    )
    sql = sql.replace("$__interval_s", str(INTERVAL_S))
    sql = sql.replace("$__fromTime", f"toDateTime({t0})").replace("$__toTime", f"toDateTime({t1})")
    for name, value in variables.items():
        sql = re.sub(r"\$\{" + name + r"\}|\$" + name + r"\b", value, sql)
    assert "$" not in sql, f"unexpanded macro or variable in: {sql}"
    return sql


def test_dashboard_structure() -> None:
    d = _dashboard()
    assert d["uid"] == "valuenet-overview" and d["title"] and d["schemaVersion"] >= 36
    panels = d["panels"]
    assert len({p["id"] for p in panels}) == len(panels) and len({p["title"] for p in panels}) == len(panels)
    variables = {v["name"] for v in d["templating"]["list"]}
    assert variables == {"network", "window"}
    cells: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not (mine & cells), f"panel {p['title']!r} overlaps another"
        cells |= mine
        assert p["type"] in ("stat", "timeseries", "table") and p["description"]
        assert p["datasource"]["type"] == PLUGIN and p["targets"]
        for t in p["targets"]:
            assert t["datasource"] == p["datasource"] and t["editorType"] == "sql" and t["rawSql"]
            used = set(re.findall(r"\$(\w+)", t["rawSql"])) - {"__timeFilter", "__interval_s", "__fromTime", "__toTime"}
            assert used <= variables, f"{p['title']}: unknown variables {used - variables}"
            if p["type"] == "timeseries":
                assert t["format"] == 1 and re.search(r"\bAS time\b", t["rawSql"]) and "$__timeFilter(" in t["rawSql"]
            else:
                assert t["format"] == 0
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in ("flows over time by type", "tunnels", "brokers", "influencers", "kpis"):
        assert topic in titles


def test_provisioning_matches_the_dashboard_and_the_compose_stack() -> None:
    compose = _compose()
    ch = compose["services"]["clickhouse"]["environment"]
    grafana = compose["services"]["grafana"]
    (source,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "clickhouse.yaml").read_text())[
        "datasources"
    ]
    assert source["type"] == PLUGIN and source["uid"] == _dashboard()["panels"][0]["datasource"]["uid"]
    j = source["jsonData"]
    assert (j["host"], j["port"], j["protocol"]) == ("clickhouse", 9000, "native")
    assert j["username"] == ch["CLICKHOUSE_USER"] and j["defaultDatabase"] == ch["CLICKHOUSE_DB"]
    password_var = source["secureJsonData"]["password"].lstrip("$").strip("{}")
    assert password_var in grafana["environment"]  # Grafana expands $VAR from its environment
    assert PLUGIN in grafana["environment"]["GF_INSTALL_PLUGINS"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"]}
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "valuenet.yaml").read_text())["providers"]
    assert provider["type"] == "file" and mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert grafana["depends_on"]["clickhouse"]["condition"] == "service_healthy"


def _panel_sql(title_part: str) -> str:
    (p,) = [p for p in _dashboard()["panels"] if title_part in p["title"].lower()]
    return p["targets"][0]["rawSql"]


def test_every_query_runs_on_the_real_tables(store) -> None:
    write_seed(store, build_seed())
    reader = Reader(store)
    variables = {"network": NET, "window": "1h"}
    run = lambda sql: store.query(expand(sql, variables))  # noqa: E731

    (net_var, win_var) = _dashboard()["templating"]["list"]
    assert [r["network"] for r in run(net_var["query"])] == [NET]
    assert [r["window"] for r in run(win_var["query"])] == ["1h", "24h"]

    for p in _dashboard()["panels"]:  # every panel answers, with rows, on the seed
        assert run(p["targets"][0]["rawSql"]), p["title"]

    # flows over time: the buckets add up to the stored flows of each type in the time range
    buckets = run(_panel_sql("flows over time"))
    want = {
        r["t"]: r["n"]
        for r in store.query(
            "SELECT toString(flow_type) AS t, count() AS n FROM flows FINAL WHERE network = %(n)s "
            "AND timestamp >= %(a)s AND timestamp <= %(b)s GROUP BY t",
            {"n": NET, "a": FROM.replace(tzinfo=None), "b": TO.replace(tzinfo=None)},
        )
    }
    for t in ("knowledge", "idea", "reputation"):
        assert sum(int(b[t]) for b in buckets) == want.get(t, 0)
    assert all(int(b["time"].timestamp()) % INTERVAL_S == 0 for b in buckets)

    (kpi,) = run(_panel_sql("kpis"))
    (latest,) = reader.network_metrics(NET, ["1h"])
    assert int(kpi["actors"]) == latest["actors"] and kpi["density"] == pytest.approx(latest["density"])

    tunnels = {(r["giver_segment"], r["receiver_segment"], int(r["total"])) for r in run(_panel_sql("tunnels"))}
    assert tunnels == {
        (r["src_segment"], r["dst_segment"], r["knowledge"] + r["idea"] + r["reputation"])
        for r in reader.tunnels(NET, "1h")
    }

    brokers = [r["actor"] for r in run(_panel_sql("brokers"))]
    assert brokers == [r["actor"] for r in reader.top_actors(NET, "1h", "betweenness", 15)]
    influencers = run(_panel_sql("influencers"))
    assert (influencers[0]["actor"], int(influencers[0]["reach"])) == ("inf1", 6)

    alerts = run(_panel_sql("alerts"))
    assert [a["kind"] for a in alerts] == ["reach_spike", "silo_forming"]
