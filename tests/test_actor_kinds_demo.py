"""On `valuenet up`'s demo company, no organisation, bot or web-flow account appears in any person ranking.

The demo's synthetic company (``ingest/synth.py``, seed and directory of ``valuenet up``) gets the
non-person traffic a real one has, in real payload shapes: a GitHub App (``type: Bot``, the real
``octocoders-linter[bot]`` user object) whose pull requests the workforce reviews, a Slack bot
(the real bolt-python bot message) whose messages people react to, and web-flow commits
(``GitHub <noreply@github.com>``). Everything goes through the processors stage, the rolling graph,
the tick, the store and the ``Reader`` — as the dashboard, the API and the CLI read it.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from valuenet.analytics.alerts import AlertDetector
from valuenet.analytics.keyperson import KeyPersonAlerts
from valuenet.analytics.kinds import parse_kinds
from valuenet.analytics.recommend import recommend
from valuenet.analytics.snapshot import actor_rows
from valuenet.analytics.storage.reader import ACTOR_METRICS, Reader
from valuenet.analytics.whatif_runner import WindowConfig, key_persons, run_task, window_from_reader
from valuenet.commands.pipeline import DEMO_NETWORK, DEMO_SEED, demo_directory
from valuenet.config import Settings
from valuenet.ingest.synth import SynthNetwork
from valuenet.pipeline.wiring import build_stage
from valuenet.schemas import RawEnvelope

HERE = Path(__file__).parent
BOT_LOGIN = "octocoders-linter[bot]"
NON_PERSONS = {"person:acme-org", "github:acme", f"github:{BOT_LOGIN}", "slack:UB111", "git:github"}
WINDOW = "30d"


def _bot_traffic(envelopes: list[RawEnvelope]) -> list[RawEnvelope]:
    """Real-shaped non-person events woven into the demo: bot pull requests reviewed, reactions to a bot's
    messages, web-flow commits."""
    bot = json.loads((HERE / "payloads/github/kinds/check_suite_rerequested_bot.json").read_text())["sender"]
    slack_bot = json.loads((HERE / "payloads/slack/real/bot_message.json").read_text())
    extra: list[RawEnvelope] = []
    reviews = [e for e in envelopes if e.headers.get("x-github-event") == "pull_request_review"][:60]
    for i, env in enumerate(reviews):
        payload = copy.deepcopy(env.payload)
        payload["review"]["id"] += 10_000_000
        payload["pull_request"]["id"] += 10_000_000
        payload["pull_request"]["user"] = bot  # the bot's dependency-update pull requests, reviewed by people
        extra.append(
            env.model_copy(update={"payload": payload, "headers": {**env.headers, "x-github-delivery": f"bot-{i}"}})
        )
    reactions = [
        e for e in envelopes if e.source.value == "slack" and e.payload.get("event", {}).get("type") == "reaction_added"
    ]
    for i, env in enumerate(reactions[:80]):
        msg = copy.deepcopy(slack_bot)
        ts = f"{int(env.received_at.timestamp()) - 10}.{i:06d}"
        msg["event"].update(ts=ts, channel=env.payload["event"]["item"]["channel"], event_ts=ts)
        msg["event_id"] = f"EvBOT{i:05d}"
        extra.append(env.model_copy(update={"payload": msg, "received_at": env.received_at}))
        react = copy.deepcopy(env.payload)
        react["event"].update(item_user="UB111", item={"type": "message", "channel": msg["event"]["channel"], "ts": ts})
        react["event_id"] = f"EvBOTR{i:05d}"
        extra.append(env.model_copy(update={"payload": react}))
    t0 = envelopes[0].received_at
    for i in range(40):
        when = (t0 + timedelta(minutes=7 * i)).isoformat()
        commit = {
            "commit": f"{i:040x}",
            "parents": 2,
            "author": f"Contributor {i % 13}",
            "author_domain": "example.org",
            "author_email": f"c{i % 13}@example.org",
            "authored_at": when,
            "committer": "GitHub",
            "committer_domain": "github.com",
            "committer_email": "noreply@github.com",
            "committed_at": when,
            "subject": f"Merge pull request #{i} from contributor/branch",
            "trailers": [],
        }
        extra.append(
            RawEnvelope(source="git", network=DEMO_NETWORK, received_at=t0 + timedelta(minutes=7 * i), payload=commit)
        )
    return extra


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path) -> dict[str, Any]:
    from tests.fixtures_clickhouse import fresh_database_name
    from valuenet.analytics.storage.chdb_store import ChdbStore

    home = tmp_path_factory.mktemp("demo-kinds")
    directory = demo_directory(home / "directory.yaml", 300)
    start = datetime(2026, 7, 1, tzinfo=UTC)
    envelopes = list(
        SynthNetwork(seed=DEMO_SEED, actors=300, rate=0.1, start=start, network=DEMO_NETWORK).envelopes(7000)
    )
    envelopes += _bot_traffic(envelopes)
    envelopes.sort(key=lambda e: e.received_at)
    stage = build_stage(Settings(home=home, directory_path=directory))
    result = stage.process([e.model_dump_json().encode() for e in envelopes])
    assert result.dead == [], [d.reason for d in result.dead[:3]]
    from valuenet.analytics.graph_store import GraphStore

    graph = GraphStore(DEMO_NETWORK, windows=[WINDOW])
    half = len(result.flows) // 2
    graph.add_many(result.flows[:half])
    first = graph.tick(start)
    graph.add_many(result.flows[half:])
    second = graph.tick(start + timedelta(seconds=5))
    store = ChdbStore(chdb_dir, database=fresh_database_name())
    store.setup()
    store.write_models("flows", result.flows)
    store.write_models("actor_metrics", actor_rows(second, limit=50))  # what the worker stores (top actors)
    yield {"flows": result.flows, "ticks": (first, second), "reader": Reader(store), "store": store}
    store.query(f"DROP DATABASE IF EXISTS {store.database}")


def test_the_demo_holds_the_non_persons_with_their_kinds(demo) -> None:
    kinds = {}
    for f in demo["flows"]:
        kinds.setdefault(f.giver, set()).add(f.giver_kind.value)
        if f.receiver:
            kinds.setdefault(f.receiver, set()).add(f.receiver_kind.value)
    assert kinds["person:acme-org"] == {"organisation"}  # the directory's kind: organisation
    assert kinds[f"github:{BOT_LOGIN}"] == {"bot"}
    assert kinds["slack:UB111"] == {"bot"}
    assert kinds["git:github"] == {"platform"}
    assert not any(f.receiver == "person:acme-org" and f.kind.value == "post" for f in demo["flows"])


def test_no_non_person_in_any_person_ranking_of_the_demo(demo) -> None:
    reader: Reader = demo["reader"]
    for metric in ACTOR_METRICS:
        rows = reader.top_actors(DEMO_NETWORK, WINDOW, metric, 15)
        assert rows, metric
        assert not NON_PERSONS & {r["actor"] for r in rows}, metric
        assert {r["kind"] for r in rows} == {"person"}, metric
    # not vacuous: asked for every kind, they are there, labelled, and would lead rankings
    everyone = {m: reader.top_actors(DEMO_NETWORK, WINDOW, m, 15, kinds=parse_kinds("all")) for m in ACTOR_METRICS}
    labelled = {r["actor"]: r["kind"] for rows in everyone.values() for r in rows}
    assert labelled[f"github:{BOT_LOGIN}"] == "bot"
    orgs = reader.top_actors(DEMO_NETWORK, WINDOW, "in_reputation", 5, kinds=parse_kinds("organisation"))
    assert [(r["actor"], r["kind"]) for r in orgs] == [("person:acme-org", "organisation")]  # its stars
    # its reviews rank it among the top knowledge receivers when every kind is asked for (how high depends on
    # how the classifier types the demo's texts)
    assert f"github:{BOT_LOGIN}" in {r["actor"] for r in everyone["in_knowledge"]}
    assert labelled["slack:UB111"] == "bot"  # the Slack bot people react to
    assert "git:github" not in labelled  # the web-flow committer gives nothing: no edge, no row at all


def test_no_non_person_among_the_demos_key_persons_alerts_or_introductions(demo) -> None:
    first, second = demo["ticks"]
    detectors = (AlertDetector(), KeyPersonAlerts())
    alerts = [a for d in detectors for t in (first, second) for a in d.check(t)]
    assert alerts  # the demo raises alerts …
    assert not NON_PERSONS & {a.subject for a in alerts}  # … about people only
    w = window_from_reader(demo["reader"], DEMO_NETWORK, WINDOW, WindowConfig())
    rows = key_persons(w, limit=20)["actors"]
    assert rows and not NON_PERSONS & {r["actor"] for r in rows}
    assert {r["kind"] for r in rows} == {"person"}
    asked = run_task(w, "keyperson", {"limit": 40, "include_kinds": "all"})["actors"]  # as GET /api/keyperson
    with pytest.raises(ValueError, match="include_kinds"):
        run_task(w, "keyperson", {"include_kinds": "robots"})
    assert {r["actor"]: r["kind"] for r in asked if r["actor"] in NON_PERSONS} == {"person:acme-org": "organisation"}
    recs = recommend(w, limit=5)["recommendations"]
    assert recs and not NON_PERSONS & {x for r in recs for x in (r["actor_a"], r["actor_b"])}


def test_the_demos_person_rankings_equal_networkx_on_the_same_window(demo) -> None:
    """The person ranking is the networkx ranking of the same window with the non-persons left out of the list."""
    import numpy as np

    from valuenet.analytics.kinds import kinds_of
    from valuenet.analytics.metrics import centrality

    _, second = demo["ticks"]
    w = second.windows[0]
    g = w.graph
    ref_pr = centrality.pagerank(g, engine="networkx", tol=1e-12)
    ref_btw = centrality.betweenness(g, pivots=None, engine="networkx")
    assert np.abs(w.pagerank - ref_pr).max() < 1e-6
    assert np.allclose(centrality.betweenness(g, pivots=None, engine="fast"), ref_btw, rtol=0, atol=1e-9)
    kinds = kinds_of(g.kind, g.n)
    names = g.names.tolist()
    persons = [i for i in range(g.n) if kinds[i] == "person"]
    want = sorted(persons, key=lambda i: (-ref_pr[i], names[i]))[:10]
    rows = demo["reader"].top_actors(DEMO_NETWORK, WINDOW, "pagerank", 10)
    assert [r["actor"] for r in rows] == [names[i] for i in want]
    assert [r["pagerank"] for r in rows] == pytest.approx([float(ref_pr[i]) for i in want], abs=1e-6)
    assert {kinds[i] for i in range(g.n)} >= {"person", "organisation", "bot"}  # the window holds non-persons
