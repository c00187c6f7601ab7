"""Synthetic value network: deterministic for a seed; planted structure in the ground truth and in parsed events."""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from valuenet.cli import app
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers import parse
from valuenet.ingest.synth import CASCADE_HOPS, SynthNetwork, write_dataset
from valuenet.processors.identity import IdentityResolver
from valuenet.schemas.interaction import Interaction

SEED, ACTORS, RATE, EVENTS = 11, 120, 0.05, 4000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthNetwork, dict, list[Interaction], Path]:
    out = tmp_path_factory.mktemp("synth")
    gen = SynthNetwork(seed=SEED, actors=ACTORS, rate=RATE)
    truth = write_dataset(gen, out, EVENTS)
    parents = ParentIndex()
    interactions: list[Interaction] = []
    from valuenet.schemas.envelope import RawEnvelope

    for line in (out / "events.jsonl").read_text().splitlines():
        interactions.extend(parse(RawEnvelope.model_validate_json(line), parents))  # raises on any reject
    return gen, truth, interactions, out


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = [e.model_dump_json() for e in SynthNetwork(seed=5, actors=40, rate=1.0).envelopes(600)]
    b = [e.model_dump_json() for e in SynthNetwork(seed=5, actors=40, rate=1.0).envelopes(600)]
    c = [e.model_dump_json() for e in SynthNetwork(seed=6, actors=40, rate=1.0).envelopes(600)]
    assert a == b
    assert a != c
    runner = CliRunner()
    for d in ("x", "y"):
        r = runner.invoke(
            app,
            [
                "ingest",
                "synth",
                "--seed",
                "5",
                "--actors",
                "40",
                "--rate",
                "1",
                "--events",
                "300",
                "--out",
                str(tmp_path / d),
            ],
        )
        assert r.exit_code == 0, r.output
    for name in ("events.jsonl", "truth.json", "directory.csv"):
        assert (tmp_path / "x" / name).read_bytes() == (tmp_path / "y" / name).read_bytes()
    assert len((tmp_path / "x" / "events.jsonl").read_text().splitlines()) == 300


def test_events_are_time_ordered_and_span_the_rate(dataset) -> None:
    gen, truth, _, out = dataset
    envs = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    times = [_ts(e["received_at"]) for e in envs]
    assert times == sorted(times)
    assert len(envs) == truth["events"] == EVENTS
    span = (times[-1] - times[0]).total_seconds()
    assert 0.6 < EVENTS / span / RATE < 1.6  # average event rate near --rate
    assert set(truth["events_per_source"]) == {"slack", "github", "discourse", "mastodon", "bluesky", "zendesk"}


def test_ground_truth_names_the_planted_structure(dataset) -> None:
    gen, truth, _, _ = dataset
    segs = truth["segments"]
    assert len(segs) == ACTORS
    assert {"workforce", "partner", "customer", "influencer"} == set(segs.values())
    assert truth["silo_teams"] and "support" not in truth["silo_teams"]
    broker_teams = [b["team"] for b in truth["brokers"]]
    assert len(broker_teams) >= 2 and len(set(broker_teams)) == len(broker_teams)
    assert not set(broker_teams) & set(truth["silo_teams"])
    assert all(i["followers"] > 0 for i in truth["influencers"])
    # cascades go beyond one hop, and reach is the distinct amplifiers of each influencer
    hops = {a["hop"] for c in truth["cascades"] for a in c["amplifications"]}
    assert hops == set(range(1, CASCADE_HOPS + 1))
    for infl, n in truth["reach"].items():
        amplifiers = {a["actor"] for c in truth["cascades"] if c["influencer"] == infl for a in c["amplifications"]}
        assert n == len(amplifiers)
        assert truth["potential_reach"][infl] >= n
    qs = truth["questions"]
    assert len(qs) > 20
    for q in qs:
        assert q["delay_s"] == pytest.approx((_ts(q["answered_at"]) - _ts(q["asked_at"])).total_seconds())
        assert segs[q["asker"]] == "customer" and q["answerer"] in truth["teams"]["support"]
    delays = sorted(q["delay_s"] for q in qs)
    assert truth["responsiveness"]["median_s"] == pytest.approx(statistics.median(delays))
    assert truth["responsiveness"]["p90_s"] == pytest.approx(statistics.quantiles(delays, n=10, method="inclusive")[-1])
    assert 600 < truth["responsiveness"]["median_s"] < 6 * 3600  # log-normal around two hours
    assert {q["platform"] for q in qs} == {"discourse", "zendesk", "github", "slack", "mastodon", "bluesky"}
    ideas = truth["ideas"]
    assert {i["platform"] for i in ideas} == {"discourse", "zendesk", "github", "slack", "mastodon", "bluesky"}
    for i in ideas:  # customers' ideas, and partners' on their shared Slack channel (taken up by a broker)
        assert segs[i["adopter"]] == "workforce"
        assert segs[i["author"]] == ("partner" if i["platform"] == "slack" else "customer")
    pickup = truth["idea_pickup"]
    assert pickup["picked_up"] == len(ideas) and 0.5 < pickup["share"] < 0.9  # a quarter are never picked up
    assert pickup["median_s"] == pytest.approx(statistics.median(i["delay_s"] for i in ideas))


def test_parsed_interactions_respect_silos_and_brokers(dataset) -> None:
    gen, truth, interactions, _ = dataset
    brokers = {b["person"] for b in truth["brokers"]}
    team_of = {p: t for t, members in truth["teams"].items() for p in members}
    silo = set(truth["silo_teams"])
    pairs = 0
    cross_team = 0
    partner_edges = 0
    for i in interactions:
        a, b = gen.person_of(i.actor), gen.person_of(i.target)
        if a is None or b is None:
            continue
        pairs += 1
        ta, tb = team_of.get(a.person), team_of.get(b.person)
        if ta in silo or tb in silo:
            assert ta == tb, f"silo flow leaves its team: {i.event_id}"
        if ta and tb and ta != tb:
            cross_team += 1
            assert a.person in brokers or b.person in brokers, i.event_id
        if {a.segment, b.segment} == {"workforce", "partner"}:
            partner_edges += 1
            assert (a.person if a.segment == "workforce" else b.person) in brokers, i.event_id
    assert pairs > 1000 and cross_team > 20 and partner_edges > 20
    silo_internal = sum(1 for i in interactions if (p := gen.person_of(i.actor)) and team_of.get(p.person) in silo)
    assert silo_internal > 20


def test_parsed_cascades_match_ground_truth(dataset) -> None:
    gen, truth, interactions, _ = dataset
    expected = {(a["actor"], a["via"]) for c in truth["cascades"] for a in c["amplifications"]}
    parsed = set()
    for i in interactions:
        if i.kind.value in ("repost", "quote") and i.source.value in ("bluesky", "mastodon"):
            a, b = gen.person_of(i.actor), gen.person_of(i.target)
            assert a is not None and b is not None, i.event_id
            parsed.add((a.person, b.person))
    assert parsed == expected
    # amplification edges reach beyond the influencers: quoters get amplified in turn
    influencers = {x["person"] for x in truth["influencers"]}
    assert any(via not in influencers for _, via in parsed)


def test_parsed_answers_and_pickups_at_the_planted_delays(dataset) -> None:
    gen, truth, interactions, _ = dataset
    replies: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for i in interactions:  # answers on all six platforms are replies to the asker
        if i.kind.value == "reply":
            a, b = gen.person_of(i.actor), gen.person_of(i.target)
            if a and b:  # to the second (GitHub times carry seconds, a Slack ts sub-millisecond digits)
                replies[(a.person, b.person)].append(i.timestamp.replace(microsecond=0))
    for q in truth["questions"]:
        assert _ts(q["answered_at"]).replace(microsecond=0) in replies[(q["answerer"], q["asker"])], q["id"]
    for idea in truth["ideas"]:
        at = _ts(idea["picked_up_at"]).replace(microsecond=0)
        assert at in replies[(idea["adopter"], idea["author"])], idea["id"]


def test_directory_csv_covers_every_parsed_actor(dataset) -> None:
    gen, truth, interactions, out = dataset
    with (out / "directory.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == ACTORS
    assert {"person", "email", "team", "organisation", "segment", "slack", "github", "bluesky"} <= set(rows[0])
    by_account = {
        row[pl]: row
        for row in rows
        for pl in ("slack", "github", "discourse", "mastodon", "bluesky", "zendesk")
        if row[pl]
    }
    actors = {i.actor for i in interactions}
    assert actors <= set(by_account)
    resolver = IdentityResolver(out / "directory.csv")  # the file is a valid identity directory
    for row in rows:
        assert row["segment"] == truth["segments"][row["person"]]
        for account in row["accounts"].split(";"):
            ident = resolver.resolve(account)
            assert (ident.actor, ident.segment.value) == (f"person:{row['person']}", row["segment"])
        if row["segment"] == "workforce":
            assert row["email"].endswith("@acme.example") and row["team"]
        if row["segment"] == "partner":
            assert row["email"].split("@")[1] in {"globex.example", "initech.example", "umbrella.example"}


@pytest.mark.kafka
def test_cli_synth_and_replay_through_the_broker(
    kafka_env: dict[str, str], kafka_bootstrap: str, tmp_path: Path
) -> None:
    """`valuenet ingest synth` (to Kafka) and `valuenet ingest replay --json` under an isolated topic prefix."""
    import subprocess
    import sys
    import time
    import uuid

    from kafka import KafkaConsumer

    from valuenet.kafka_admin import delete_topics, ensure_topics
    from valuenet.schemas.envelope import decode_raw

    prefix = f"t{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, prefix=prefix)
    env = {**kafka_env, "VALUENET_TOPIC_PREFIX": prefix, "VALUENET_HOME": str(tmp_path / "home")}
    cli = [sys.executable, "-m", "valuenet.cli", "ingest"]
    try:
        r = subprocess.run(
            cli
            + [
                "synth",
                "--seed",
                "4",
                "--actors",
                "30",
                "--events",
                "150",
                "--no-pace",
                "--start",
                "2026-02-01T00:00:00Z",
                "--truth",
                str(tmp_path / "truth.json"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        assert "sent 150 synthetic events" in r.stderr
        bad = tmp_path / "mixed.jsonl"
        write_dataset(SynthNetwork(seed=4, actors=30, rate=1.0), tmp_path / "files", 20)
        bad.write_text((tmp_path / "files" / "events.jsonl").read_text() + "{oops\n")
        r = subprocess.run(
            cli + ["replay", str(bad), "--network", "tenant-x", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout)
        assert summary["sent"] == 20 and summary["rejected"] == 1
        assert sum(summary["per_source"].values()) == 20

        consumer = KafkaConsumer(
            f"{prefix}.raw",
            f"{prefix}.dlq",
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        got: list = []
        deadline = time.monotonic() + 30

        def envelopes() -> int:
            return sum(len(decode_raw(m.value)) if m.topic == f"{prefix}.raw" else 1 for m in got)

        while envelopes() < 171 and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                got.extend(batch)
        consumer.close()
        raw = [e for m in got if m.topic == f"{prefix}.raw" for e in decode_raw(m.value)]
        dead = [json.loads(m.value) for m in got if m.topic == f"{prefix}.dlq"]
        assert sum(e.network == "synth" for e in raw) == 150 and sum(e.network == "tenant-x" for e in raw) == 20
        assert [(d["stage"], d["source"], d["field"], d["record"]) for d in dead] == [
            ("replay", "unknown", "<payload>", "{oops")
        ]
        truth = json.loads((tmp_path / "truth.json").read_text())
        assert truth["events"] == 150 and truth["start"] == "2026-02-01T00:00:00.000Z"
    finally:
        delete_topics(kafka_bootstrap, [f"{prefix}.{n}" for n in ("raw", "flows", "metrics", "dlq")])
