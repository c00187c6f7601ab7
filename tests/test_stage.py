"""The processors stage as plain code: envelopes in, interactions, flows, directory rows and dead letters out."""

from __future__ import annotations

import json

from tests.pipeline_harness import envelope, git_records
from valuenet.config import Settings
from valuenet.ingest.platforms.git.parse import person_key
from valuenet.ingest.producer import encode_batch
from valuenet.pipeline.wiring import build_stage


def test_flows_follow_the_trailers_and_bad_records_name_their_field() -> None:
    stage = build_stage(Settings())
    rec = git_records(200)
    commit = next(r for r in rec if any(t["key"] == "Reviewed-by" and t["name"] != r["author"] for t in r["trailers"]))
    bad = envelope("git", "n", {**commit, "committed_at": 17})
    out = stage.process([envelope("git", "n", commit), bad, b"not json"])
    reviewer = next(
        t["name"] for t in commit["trailers"] if t["key"] == "Reviewed-by" and t["name"] != commit["author"]
    )
    review = next(f for f in out.flows if f.giver == person_key(reviewer) and f.kind.value == "review")
    assert (review.receiver, review.flow_type.value) == (person_key(commit["author"]), "knowledge")
    assert [(d.field, d.stage) for d in out.dead] == [("committed_at", "normalise"), ("<root>", "normalise")]
    assert "committed_at" in out.dead[0].reason and out.dead[0].record == bad.decode()
    assert {r["actor"]: r["display_name"] for r in out.directory}[person_key(reviewer)] == reviewer


def test_dedupe_is_per_network_and_survives_a_replay() -> None:
    stage = build_stage(Settings())
    dense = git_records(6000)[-20:]  # a few days of history: inside the deduper's 8-day retention
    recs = [envelope("git", "a", r) for r in dense]
    first = stage.process(recs)
    again = stage.process(recs)
    other = stage.process([envelope("git", "b", r) for r in dense])
    assert len(first.flows) > 20 and again.flows == [] and again.duplicates == len(first.flows)
    assert len(other.flows) == len(first.flows)  # the same event ids in another network are other events


def test_pseudonymised_ids_and_no_names_in_stored_interactions() -> None:
    stage = build_stage(Settings(pseudonymise=True, pseudonym_key="k" * 32))
    out = stage.process([envelope("git", "n", r) for r in git_records(10)])
    assert all(f.giver.startswith("p:") for f in out.flows)
    assert all(i.actor.startswith("p:") and i.actor_name is None for i in out.interactions)
    assert not any(
        "Junio" in json.dumps(i.model_dump(mode="json"))
        for i in out.interactions
        if i.actor_name is None and i.text is None
    )


def test_a_packed_record_gives_the_same_flows_and_names_its_bad_element() -> None:
    """A connector's batch (JSON array of envelopes) is processed like its envelopes one by one."""
    commits = git_records(30)[:6]
    singles = build_stage(Settings()).process([envelope("git", "n", r) for r in commits[:2]])
    bad = {"source": "git", "network": "n", "payload": {**commits[2], "committed_at": 17}}
    packed = build_stage(Settings()).process([encode_batch([envelope("git", "n", r) for r in commits[:2]])])
    mixed = build_stage(Settings()).process(
        [
            b"["
            + b",".join(
                [
                    envelope("git", "n", commits[3]),
                    json.dumps(bad).encode(),
                    json.dumps({"network": "n", "payload": {}}).encode(),
                ]
            )
            + b"]",
            b"[1, 2",
        ]
    )
    assert packed.flows == singles.flows and len(packed.flows) > 2 and not packed.dead
    alone = build_stage(Settings()).process([envelope("git", "n", commits[3])])
    assert mixed.flows == alone.flows and mixed.flows
    assert [d.field for d in mixed.dead] == ["committed_at", "[2].source", "<root>"]
    assert "batch" in mixed.dead[1].reason and json.loads(mixed.dead[1].record) == {"network": "n", "payload": {}}
    assert "malformed JSON batch" in mixed.dead[2].reason


def test_a_directory_change_resegments_known_actors_without_new_events(tmp_path) -> None:
    """Reloaded rules become directory rows for every network the actor appeared in, giver or receiver."""
    import os

    directory = tmp_path / "directory.yaml"
    directory.write_text("rules:\n  customer_domains: [pobox.com]\npeople: []\n")
    stage = build_stage(Settings(directory_path=directory))
    commits = [r for r in git_records(400) if r["author_domain"] == "pobox.com"][:5]
    stage.process([envelope("git", "a", c) for c in commits])
    stage.process([envelope("git", "b", commits[0])])
    junio = person_key(commits[0]["author"])
    assert stage.identity_updates() == []  # nothing changed yet
    directory.write_text("rules:\n  partner_domains:\n    pobox.com: Pobox\npeople: []\n")
    st = directory.stat()
    os.utime(directory, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert stage.identity.maybe_reload()  # what the stage's periodic check does once it is due
    rows = stage.identity_updates()
    assert {(r["network"], r["segment"]) for r in rows if r["actor"] == junio} == {("a", "partner"), ("b", "partner")}
    assert all(r["segment"] == "partner" for r in rows)
    assert stage.identity_updates() == []  # drained
