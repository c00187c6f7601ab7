"""Display names beside actor keys (``analytics.names``): reports keep their keys and gain names and named sentences."""

from __future__ import annotations

from valuenet.analytics.names import label, with_names, with_names_by_network

NAMES = {"person:p00102": "Ana Kovac", "person:p00011": "Ben Novak", "github:dependabot[bot]": "dependabot[bot]"}


def test_recommendation_gets_names_beside_keys_and_in_its_sentences() -> None:
    rec = {
        "recommendations": [
            {
                "actor_a": "person:p00102",
                "actor_b": "person:p00011",
                "reason": "Introduce person:p00102 (workforce/data) to person:p00011 (partner).",
                "expected_effect": ["person:p00011 reach 3 → 5 actors."],
                "effect": {"reachability": [{"src": "workforce", "dst": "partner"}]},
            }
        ]
    }
    out = with_names(rec, NAMES)["recommendations"][0]
    assert (out["actor_a"], out["name_a"], out["actor_b"], out["name_b"]) == (
        "person:p00102",
        "Ana Kovac",
        "person:p00011",
        "Ben Novak",
    )
    assert (
        out["reason"] == "Introduce Ana Kovac (person:p00102) (workforce/data) to Ben Novak (person:p00011) (partner)."
    )
    assert out["expected_effect"] == ["Ben Novak (person:p00011) reach 3 → 5 actors."]
    assert rec["recommendations"][0]["reason"].startswith("Introduce person:p00102")  # the input is not changed


def test_whatif_report_names_removed_actors_and_ties_and_leaves_keys_alone() -> None:
    report = {
        "removed_actors": ["person:p00102", "person:p99999"],
        "added_ties": [["person:p00011", "person:p00102"]],
        "description": "remove actor person:p00102; add a tie person:p00011 ↔ person:p00102",
        "summary": ["person:p001020 is another actor; person:p00102 is named."],
        "influencers": [{"actor": "person:p00011", "reach_before": 3}],
    }
    out = with_names(report, NAMES)
    assert out["removed_actors"] == ["person:p00102", "person:p99999"]
    assert out["removed_names"] == ["Ana Kovac", None]
    assert out["added_ties_names"] == [["Ben Novak", "Ana Kovac"]]
    assert out["description"] == (
        "remove actor Ana Kovac (person:p00102); add a tie Ben Novak (person:p00011) ↔ Ana Kovac (person:p00102)"
    )
    assert out["summary"] == ["person:p001020 is another actor; Ana Kovac (person:p00102) is named."]
    assert out["influencers"][0]["name"] == "Ben Novak"


def test_key_person_rows_and_alerts_of_several_networks() -> None:
    rows = [
        {"network": "a", "subject": "person:p00102", "message": "person:p00102 no longer carries flows"},
        {"network": "b", "subject": "person:p00102", "message": "person:p00102 no longer carries flows"},
    ]
    out = with_names_by_network(rows, lambda net: NAMES if net == "a" else {})
    assert out[0]["name"] == "Ana Kovac" and out[0]["message"] == "Ana Kovac (person:p00102) no longer carries flows"
    assert out[1]["name"] is None and out[1]["message"] == "person:p00102 no longer carries flows"
    assert label("github:dependabot[bot]", NAMES) == "dependabot[bot] (github:dependabot[bot])"
    assert label("slack:B0DEPLOY01", {"slack:B0DEPLOY01": "slack:B0DEPLOY01"}) == "slack:B0DEPLOY01"  # name = key
    assert label("person:p00011", NAMES) == "Ben Novak (person:p00011)"
