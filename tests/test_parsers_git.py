"""git parser: bundled JSONL records, the sample slice and a real local repository."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parsers.registry import parse, parse_payload
from valuenet.ingest.platforms.git.parse import read_repository, trailer_kind
from valuenet.ingest.samples import GIT_SAMPLE, git_sample
from valuenet.schemas import Interaction, Kind, RawEnvelope

FIX = Path(__file__).parent / "payloads" / "git" / "commits.jsonl"


def _records() -> list[dict]:
    return [json.loads(line) for line in FIX.read_text().splitlines()]


def test_commit_with_trailers_yields_commit_apply_and_credits() -> None:
    env = RawEnvelope(source="git", network="git-demo", payload=_records()[0])
    out = parse(env)
    by_id = {i.event_id: i for i in out}
    sha = "aaaa000000000000000000000000000000000001"
    assert list(by_id) == [sha, f"{sha}#apply", f"{sha}#0", f"{sha}#2", f"{sha}#4", f"{sha}#5"]
    commit = by_id[sha]
    assert commit.kind is Kind.commit and commit.actor == "git:ada lovelace" and commit.target is None
    # streamed at commit time (when it entered the history); the authoring time is kept
    assert commit.timestamp == datetime(2024, 3, 2, 17, 30, tzinfo=UTC)
    assert commit.metadata["authored_at"] == "2024-03-01T08:00:00+00:00"
    assert commit.text == "parser: handle trailers" and commit.actor_domain == "example.org"
    apply = by_id[f"{sha}#apply"]
    assert (apply.kind, apply.actor, apply.target) == (Kind.apply, "git:junio c hamano", "git:ada lovelace")
    assert apply.timestamp == datetime(2024, 3, 2, 17, 30, tzinfo=UTC)
    assert (by_id[f"{sha}#0"].kind, by_id[f"{sha}#0"].actor) == (Kind.help, "git:grace hopper")
    assert by_id[f"{sha}#0"].metadata == {"trailer": "Helped-by"}
    assert by_id[f"{sha}#0"].actor_domain == "navy.mil"
    assert by_id[f"{sha}#2"].kind is Kind.review
    assert by_id[f"{sha}#4"].kind is Kind.suggestion
    assert by_id[f"{sha}#5"].kind is Kind.approve
    assert all(i.target == "git:ada lovelace" for i in out[1:])
    assert all(i.network == "git-demo" and i.parent_id == sha for i in out[1:])


def test_self_committed_merge_is_one_commit() -> None:
    out = parse_payload("git", _records()[1], network="n")
    assert [(i.kind, i.metadata["parents"]) for i in out] == [(Kind.commit, 2)]


def test_constructed_models_equal_validated_ones() -> None:
    for rec in _records():
        for i in parse_payload("git", rec, network="n"):
            assert Interaction.model_validate(i.model_dump()) == i
            assert Interaction.model_validate_json(i.model_dump_json()) == i


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("Reviewed-By", Kind.review),
        ("Mentored-by", Kind.help),
        ("Based-on-patch-by", Kind.suggestion),
        ("Original-patch-by", Kind.suggestion),
        ("Acked-by", Kind.approve),
        ("Co-authored-by", Kind.commit),
        ("Whatever-by", Kind.help),
        ("Cc", None),
        ("Fixes", None),
    ],
)
def test_trailer_kinds(key: str, kind: Kind | None) -> None:
    assert trailer_kind(key) is kind


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("commit"), "commit"),
        (lambda r: r.update(authored_at="yesterday"), "authored_at"),
        (lambda r: r.update(author=7), "author"),
        (lambda r: r.update(trailers="x"), "trailers"),
        (lambda r: r["trailers"].__setitem__(1, {"key": "Acked-by"}), "trailers[1].name"),
        (lambda r: r["trailers"].__setitem__(2, 5), "trailers[2]"),
    ],
)
def test_bad_records_name_the_field(mutate, field: str) -> None:
    rec = _records()[0]
    mutate(rec)
    with pytest.raises(ParseError) as e:
        parse_payload("git", rec, network="n")
    assert e.value.field == field and e.value.source == "git"


def test_bundled_sample_is_the_documented_slice() -> None:
    recs = list(git_sample())
    assert GIT_SAMPLE.stat().st_size < 1_000_000
    credited = [r for r in recs if any(t["key"].lower() != "signed-off-by" for t in r["trailers"])]
    assert len(credited) == 3000
    assert 5000 < len(recs) < 9001
    stamps = [datetime.fromisoformat(r["committed_at"]) for r in recs]
    assert stamps == sorted(stamps), "oldest first: the order a stream replays them in"
    assert recs[-1]["committed_at"].startswith("2026-")
    kinds = {i.kind for r in recs[:400] for i in parse_payload("git", r, network="n")}
    assert {Kind.commit, Kind.apply, Kind.review, Kind.help, Kind.approve} <= kinds


def _git(repo: Path, *args: str, env: dict | None = None) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_reads_a_real_local_repository(tmp_path: Path) -> None:
    import os

    repo = tmp_path / "r"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "f.txt").write_text("one\n")
    _git(repo, "add", "f.txt")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada Lovelace",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_AUTHOR_DATE": "2024-03-01T10:00:00+02:00",
        "GIT_COMMITTER_NAME": "Max Maintainer",
        "GIT_COMMITTER_EMAIL": "max@corp.example",
        "GIT_COMMITTER_DATE": "2024-03-02T10:00:00+00:00",
    }
    msg = "feat: add f\n\nBody text.\n\nHelped-by: Grace Hopper <grace@navy.mil>\nReviewed-by: Alan Turing <alan@cam.ac.uk>\nSigned-off-by: Ada Lovelace <ada@example.org>\n"
    _git(repo, "commit", "-q", "-m", msg, env=env)
    recs = list(read_repository(repo))
    assert len(recs) == 1
    rec = recs[0]
    assert rec["author"] == "Ada Lovelace" and rec["author_domain"] == "example.org"
    assert rec["committer"] == "Max Maintainer" and rec["committer_domain"] == "corp.example"
    assert rec["subject"] == "feat: add f" and rec["parents"] == 0
    assert rec["trailers"] == [
        {"key": "Helped-by", "name": "Grace Hopper", "email_domain": "navy.mil", "email": "grace@navy.mil"},
        {"key": "Reviewed-by", "name": "Alan Turing", "email_domain": "cam.ac.uk", "email": "alan@cam.ac.uk"},
        {"key": "Signed-off-by", "name": "Ada Lovelace", "email_domain": "example.org", "email": "ada@example.org"},
    ]
    out = parse_payload("git", rec, network="n")
    assert [(i.kind, i.actor, i.target) for i in out] == [
        (Kind.commit, "git:ada lovelace", None),
        (Kind.apply, "git:max maintainer", "git:ada lovelace"),
        (Kind.help, "git:grace hopper", "git:ada lovelace"),
        (Kind.review, "git:alan turing", "git:ada lovelace"),
    ]
    assert out[0].metadata["email"] == "ada@example.org" and out[2].metadata["email"] == "grace@navy.mil"


def test_mailmap_quotes_case_and_ai_assistants(tmp_path: Path) -> None:
    import os

    repo = tmp_path / "r"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".mailmap").write_text("Ada Lovelace <ada@example.org> <ada@old.example>\n")
    _git(repo, "add", ".mailmap")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "A. Lovelace",
        "GIT_AUTHOR_EMAIL": "ada@old.example",  # mapped by .mailmap to Ada Lovelace <ada@example.org>
        "GIT_COMMITTER_NAME": "Ada Lovelace",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
    }
    msg = (
        'fix: x\n\nHelped-by: "brian m. carlson" <sandals@crustytoothpaste.net>\n'
        "Assisted-by: Claude Opus 4.6\nCo-authored-by: Claude Sonnet 4.6 <noreply@anthropic.com>\n"
        "Reviewed-by: Brian  M. Carlson <sandals@crustytoothpaste.net>\n"
    )
    _git(repo, "commit", "-q", "-m", msg, env=env)
    (rec,) = list(read_repository(repo))
    assert (rec["author"], rec["author_email"]) == ("Ada Lovelace", "ada@example.org")
    out = parse_payload("git", rec, network="n")
    # one person for the mailmapped author and committer (no #apply), one for the quoted and
    # double-spaced spellings of brian; the AI assistants are tools on the commit, not actors
    assert [(i.kind, i.actor, i.target) for i in out] == [
        (Kind.commit, "git:ada lovelace", None),
        (Kind.help, "git:brian m. carlson", "git:ada lovelace"),
        (Kind.review, "git:brian m. carlson", "git:ada lovelace"),
    ]
    assert out[0].metadata["tools"] == "Claude Opus 4.6; Claude Sonnet 4.6"
    assert out[1].actor_name == "brian m. carlson"


def test_bundled_sample_names_and_tools() -> None:
    from valuenet.ingest.readers import read_payloads

    sample = Path(__file__).resolve().parents[1] / "ingest" / "samples" / "git-history-sample.jsonl.gz"
    actors: set[str] = set()
    tools = 0
    for rec in read_payloads(sample, "git"):
        for i in parse_payload("git", rec, network="n"):
            actors.update(a for a in (i.actor, i.target) if a)
            tools += bool(i.metadata.get("tools"))
    assert not any('"' in a or "  " in a or a != a.casefold() for a in actors)
    assert "git:brian m. carlson" in actors and "git:taylor blau" in actors and "git:jean-noël avila" in actors
    assert not any(w in a for a in actors for w in ("claude", "opus 4", "sonnet"))
    assert tools >= 49  # every Assisted-by of the sample is listed on its commit


def test_missing_repository_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        list(read_repository(tmp_path / "nope"))


def test_people_at_ai_vendors_and_people_named_claude_are_people() -> None:
    from valuenet.ingest.platforms.git.parse import is_tool

    assert is_tool("Claude Opus 4.6") and is_tool("Opus 4.7") and is_tool("GitHub Copilot")
    assert is_tool("dependabot[bot]") and is_tool("Claude", "noreply@anthropic.com")
    assert not is_tool("Claude Paroz", "claude@2xlibre.net")
    assert not is_tool("Taylor Blau", "me@openai.com") and not is_tool("Ted Nyman")
    rec = {
        "commit": "feed",
        "author": "Ted Nyman",
        "author_domain": "openai.com",
        "authored_at": "2025-01-01T00:00:00Z",
        "trailers": [
            {"key": "Reviewed-by", "name": "Taylor Blau", "email_domain": "openai.com"},
            {"key": "Assisted-by", "name": "Claude Opus 4.6", "email_domain": ""},
        ],
    }
    out = parse_payload("git", rec, network="n")
    assert [(i.kind, i.actor) for i in out] == [(Kind.commit, "git:ted nyman"), (Kind.review, "git:taylor blau")]
    assert out[0].metadata["tools"] == "Claude Opus 4.6" and "bot" not in out[0].metadata


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"commit": "a" * 600}, "<event id>"),  # the commit's id itself is over 512 characters
        ({"commit": "a" * 508}, "<event id>"),  # the commit fits, its '#apply' does not
        ({"author": "A" * 300}, "<actor>"),
        ({"committer": "C" * 300}, "<actor>"),  # the commit is fine, its '#apply' actor is too long
        ({"trailers": [{"key": "Reviewed-by", "name": "R" * 300, "email_domain": "x.org"}]}, "<actor>"),
    ],
)
def test_ids_and_actors_over_the_model_limits_name_the_field(change: dict, field: str) -> None:
    """The direct construction path checks what Interaction would: ids ≤ 512, actors ≤ 256 characters."""
    commit = {
        "commit": "c0ffee",
        "author": "Ada",
        "committer": "Bob",
        "authored_at": "2024-01-01T00:00:00Z",
        "trailers": [],
        **change,
    }
    with pytest.raises(ParseError) as e:
        parse_payload("git", commit, network="n")
    assert e.value.field == field


def test_ids_and_actors_at_the_model_limits_parse() -> None:
    name = "N" * 252  # "git:" + 252 = 256 characters
    commit = {
        "commit": "f" * 500,
        "author": name,
        "committer": "Bob",
        "authored_at": "2024-01-01T00:00:00Z",
        "trailers": [{"key": "Reviewed-by", "name": "R" * 252}],
    }
    out = parse_payload("git", commit, network="n")
    assert [i.event_id[500:] for i in out] == ["", "#apply", "#0"]
    for i in out:
        assert Interaction.model_validate(i.model_dump()) == i
