"""Identity: one actor across platforms, segment rules, live reload and re-segmentation."""

import os
from datetime import UTC, datetime

import pytest

from valuenet.processors.directory import DirectoryError, Rules, account_key, load_directory
from valuenet.processors.identity import IdentityResolver
from valuenet.schemas import Interaction, Kind, Segment, Source

T0 = datetime(2025, 3, 1, tzinfo=UTC)

YAML = """
rules:
  workforce_domains: {acme.com: Acme}
  partner_domains: [globex.com]
  brand_accounts: ["mastodon:@acme@acme.social"]
  brand_followers: ["reddit:t2_fan"]
  influencer_followers: 5000
  influencer_reach: 100
people:
  - person: alice
    name: Alice Example
    accounts: "slack:U123;github:octocat;mastodon:@alice@x.social"
    emails: alice@acme.com
    team: platform
  - person: gus
    name: Gus Partner
    accounts: {github: gus-globex}
    emails: [gus@globex.com]
    organisation: Globex
  - person: vip
    accounts: "x:42"
    segment: customer
"""


def _bump(path, text):
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


@pytest.fixture
def directory(tmp_path):
    p = tmp_path / "directory.yaml"
    p.write_text(YAML)
    return p


def test_same_person_on_three_platforms_is_one_actor(directory):
    r = IdentityResolver(directory)
    ids = {r.resolve(a).actor for a in ("slack:U123", "github:OctoCat", "mastodon:alice@x.social")}
    assert ids == {"person:alice"}
    alice = r.resolve("slack:U123")
    assert (alice.segment, alice.team, alice.organisation, alice.name) == (
        Segment.workforce,
        "platform",
        "Acme",
        "Alice Example",
    )
    assert alice.rule == "domain:acme.com"


def test_segment_rules(directory):
    r = IdentityResolver(directory)
    assert r.resolve("github:gus-globex").segment is Segment.partner
    assert r.resolve("x:42").segment is Segment.customer and r.resolve("x:42").rule == "directory"
    assert r.resolve("git:Someone", domain="ACME.com").segment is Segment.workforce
    assert r.resolve("reddit:t2_fan").segment is Segment.customer
    assert r.resolve("x:999", followers=5000).segment is Segment.influencer
    assert r.resolve("x:1000", followers=4999).segment is Segment.unknown
    stranger = r.resolve("slack:UNOBODY")
    assert (stranger.actor, stranger.segment) == ("slack:UNOBODY", Segment.unknown)


def test_git_actor_matches_person_by_name_and_domain(directory):
    r = IdentityResolver(directory)
    assert r.resolve("git:Alice Example", domain="acme.com").actor == "person:alice"
    assert r.resolve("git:Alice Example", domain="gmail.com").actor == "git:Alice Example"


def test_brand_follow_and_measured_reach_resegment(directory):
    r = IdentityResolver(directory)
    follow = Interaction(
        event_id="f1",
        network="n",
        source=Source.mastodon,
        kind=Kind.follow,
        timestamp=T0,
        actor="mastodon:@newfan@m.social",
        target="mastodon:acme@acme.social",
    )
    giver, receiver = r.resolve_interaction(follow)
    assert giver.segment is Segment.customer and giver.rule == "brand-follower"
    r.resolve("bluesky:did:plc:abc")
    r.set_reach("bluesky:did:plc:abc", 150)
    changes = r.changed_actors()
    assert [(c.raw_actor, c.before.segment, c.after.segment) for c in changes] == [
        ("mastodon:@newfan@m.social", Segment.unknown, Segment.customer),
        ("bluesky:did:plc:abc", Segment.unknown, Segment.influencer),
    ]
    assert r.changed_actors() == []


def test_reload_learns_unknown_actor_and_reports_change(directory):
    r = IdentityResolver(directory, check_interval=0.0)
    assert r.resolve("slack:U999").segment is Segment.unknown
    _bump(directory, YAML + "  - person: bob\n    accounts: slack:U999\n    segment: partner\n    team: sales\n")
    bob = r.resolve("slack:U999")
    assert (bob.actor, bob.segment, bob.team) == ("person:bob", Segment.partner, "sales")
    changes = r.changed_actors()
    assert [(c.raw_actor, c.before.actor, c.after.actor, c.after.segment) for c in changes] == [
        ("slack:U999", "slack:U999", "person:bob", Segment.partner)
    ]


def test_broken_reload_keeps_previous_directory(directory):
    r = IdentityResolver(directory, check_interval=0.0)
    _bump(directory, YAML + "  - person: x\n    accounts: slack:U1\n    segment: martian\n")
    assert r.resolve("slack:U123").actor == "person:alice"
    assert "field 'segment'" in r.last_error and "martian" in r.last_error


def test_csv_directory_with_rules_sidecar(tmp_path):
    (tmp_path / "people.csv").write_text(
        "person,name,accounts,emails,team,organisation,segment\n"
        "carol,Carol,slack:U7;github:carol,carol@initech.com,support,,\n"
    )
    (tmp_path / "people.rules.yaml").write_text("rules:\n  workforce_domains: [initech.com]\n")
    r = IdentityResolver(tmp_path / "people.csv")
    carol = r.resolve("github:carol")
    assert (carol.actor, carol.segment, carol.team) == ("person:carol", Segment.workforce, "support")


def test_directory_errors_name_row_and_field(tmp_path):
    p = tmp_path / "d.yaml"
    p.write_text("people:\n  - person: a\n    accounts: 'slack'\n")
    with pytest.raises(DirectoryError, match=r"row 1: field 'accounts'"):
        load_directory(p)
    p.write_text("people:\n  - person: a\n    accounts: slack:U1\n  - person: b\n    accounts: SLACK:u1\n")
    with pytest.raises(DirectoryError, match="already belongs to 'a'"):
        load_directory(p)


def test_account_key_normalises_case_and_at():
    assert account_key("Mastodon:@Alice@X.social") == "mastodon:alice@x.social"
    assert (
        IdentityResolver(rules=Rules(partner_domains={"globex.com": "Globex"}))
        .resolve("git:G", domain="globex.com")
        .organisation
        == "Globex"
    )


@pytest.mark.parametrize(
    "doc,message",
    [
        ("people:\n  - name: x\n", "row 1: field 'person': missing"),
        ("people:\n  - person: a\n    emails: [1]\n", "row 1: field 'emails': expected strings, got int"),
        ("people:\n  - person: a\n    emails: bob\n", "row 1: field 'emails': 'bob' is not an e-mail address"),
        ("people:\n  - 5\n", "row 1: expected a mapping, got int"),
        (
            "rules:\n  influencer_followers: true\n",
            "rules field 'influencer_followers': Input should be a valid integer",
        ),
        (
            "rules:\n  influencer_reach: -1\n",
            "rules field 'influencer_reach': Input should be greater than or equal to 0",
        ),
        ("rules:\n  partner_domains: 5\n", "rules field 'partner_domains': expected a ';'-separated string or a list"),
    ],
)
def test_directory_entries_are_validated_naming_file_row_and_field(tmp_path, doc: str, message: str) -> None:
    p = tmp_path / "d.yaml"
    p.write_text(doc)
    with pytest.raises(DirectoryError) as e:
        load_directory(p)
    assert str(e.value).startswith(f"{p}: ") and message in str(e.value)
