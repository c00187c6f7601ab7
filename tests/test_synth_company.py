"""The synthetic company (``ingest.synth_company``): real labelled text, platform-marked bots and organisations, mess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuenet.ingest.synth_company import LABELLED_FILES, CompanyNetwork, labelled_texts

EVENTS = 3000


@pytest.fixture(scope="module")
def company() -> tuple[CompanyNetwork, list[dict]]:
    gen = CompanyNetwork(seed=5, actors=120, rate=0.05)
    envs = [e.model_dump(mode="json") for e in gen.envelopes(EVENTS)]
    return gen, envs


def test_same_seed_same_bytes() -> None:
    a = [e.model_dump_json() for e in CompanyNetwork(seed=9, actors=60).envelopes(800)]
    b = [e.model_dump_json() for e in CompanyNetwork(seed=9, actors=60).envelopes(800)]
    assert a == b


def test_texts_come_from_the_bundled_labelled_rows_by_planted_type(company) -> None:
    gen, envs = company
    import valuenet.ingest.samples as samples

    for f in LABELLED_FILES:  # shipped in the package beside the git sample, not read from ../shared
        assert f.is_file() and f.parent == Path(samples.__file__).parent and "shared" not in str(f.resolve())
    assert json.loads((LABELLED_FILES[0].parent / "labelled-origin.json").read_text())["files"]
    pools = labelled_texts()
    assert {label for label, *_ in gen.planted_texts} == {"knowledge", "idea", "reputation", "question"}
    for label, text, _, _ in gen.planted_texts:
        assert (
            text in pools["quote" if text in pools["quote"] and label == "reputation" else label]
            or text in pools[label]
        )
    slack_texts = {e["payload"]["event"].get("text", "") for e in envs if e["source"] == "slack"}
    drawn = {t for label, t, _, source in gen.planted_texts if source == "slack"}
    assert drawn and any(t in s for t in drawn for s in slack_texts)
    assert not any("Here is how" in s for s in slack_texts if "Here is how it works" not in s)  # templates replaced


def test_bots_and_organisations_carry_their_platform_fields(company) -> None:
    _, envs = company
    gh = [e["payload"] for e in envs if e["source"] == "github"]
    senders = {(p["sender"]["login"], p["sender"]["type"]) for p in gh}
    assert ("dependabot[bot]", "Bot") in senders
    assert any(p.get("comment", {}).get("user", {}).get("type") == "Bot" for p in gh)  # acme-ci[bot] comments
    assert {p["repository"]["owner"]["type"] for p in gh} == {"Organization"}
    slack = [e["payload"]["event"] for e in envs if e["source"] == "slack"]
    assert any(ev.get("bot_id") == "B0DEPLOY01" and ev.get("subtype") == "bot_message" for ev in slack)
    masto = [e["payload"] for e in envs if e["source"] == "mastodon"]
    accounts = [p["account"] for p in masto if "account" in p]
    assert any(a.get("bot") is True for a in accounts) and any(a.get("group") is True for a in accounts)


def test_missing_profiles_and_two_team_people(company) -> None:
    gen, _ = company
    rows = {r["person"]: r for r in gen.directory_rows()}
    assert gen.missing and not (gen.missing & set(rows))
    for pid, platform in gen.missing_account.items():
        if pid in rows:
            assert rows[pid][platform] == "" and gen._pid[pid].uid(platform) not in rows[pid]["accounts"].split(";")
    assert gen.second_team
    for pid, team in gen.second_team.items():
        assert rows[pid]["team"] != team  # the directory names the first team only
        assert gen._pid[pid] in gen.chat_members[team]
    truth = gen.ground_truth()["realism"]
    assert truth["missing_profiles"] == sorted(gen.missing) and truth["texts"]["knowledge"] > 100
