"""A directory change re-segments actors already in the graph: worker → directory rows → graph, no new event."""

from __future__ import annotations

import os

import pytest

from tests.pipeline_harness import Pipeline, envelope
from tests.test_pipeline_e2e import plain_records
from valuenet.ingest.platforms.git.parse import person_key

pytestmark = pytest.mark.kafka

NETWORK = "git-identity"


def test_directory_change_reaches_actor_metrics_and_tunnels_without_new_events(
    kafka_bootstrap: str, clickhouse_url: str, tmp_path
) -> None:
    directory = tmp_path / "directory.yaml"
    directory.write_text("rules:\n  workforce_domains: [pobox.com]\npeople: []\n")
    pipeline = Pipeline(kafka_bootstrap, clickhouse_url, tmp_path)
    pipeline.env["VALUENET_DIRECTORY_PATH"] = str(directory)
    try:
        records = plain_records(150)
        pobox = {person_key(r["author"]) for r in records if r["author_domain"] == "pobox.com"}
        assert pobox
        pipeline.start_worker()
        pipeline.produce((envelope("git", NETWORK, r) for r in records), NETWORK)

        def segments() -> dict[str, str]:
            rows = pipeline.store.query(
                "SELECT actor, toString(segment) AS s FROM actor_metrics WHERE network = %(n)s "
                "AND computed_at_ms = (SELECT max(computed_at_ms) FROM actor_metrics WHERE network = %(n)s)",
                {"n": NETWORK},
            )
            return {r["actor"]: r["s"] for r in rows}

        before = pipeline.wait_for(segments, lambda s: pobox <= s.keys() and all(s[a] == "workforce" for a in pobox))
        workforce = {a for a, s in before.items() if s == "workforce"}  # pobox.com authors and trailer names
        flows_before = sum(pipeline.flow_counts(NETWORK).values())
        directory.write_text("rules:\n  partner_domains:\n    pobox.com: Pobox\npeople: []\n")
        st = directory.stat()
        os.utime(directory, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))

        after = pipeline.wait_for(segments, lambda s: all(s.get(a) == "partner" for a in workforce))
        # every other actor of the first snapshot keeps its segment (actors of later flows that were still being
        # applied when it was taken may join; none of them is workforce: pobox.com was the only workforce domain)
        assert {a: after.get(a) for a in before if a not in workforce} == {
            a: s for a, s in before.items() if a not in workforce
        }
        assert "workforce" not in {s for a, s in after.items() if a not in before}
        assert sum(pipeline.flow_counts(NETWORK).values()) == flows_before  # no event was needed
        tunnels = pipeline.store.query(
            "SELECT src_segment AS s, dst_segment AS d FROM segment_flows WHERE network = %(n)s "
            "AND computed_at_ms = (SELECT max(computed_at_ms) FROM segment_flows WHERE network = %(n)s)",
            {"n": NETWORK},
        )
        segs = {r["s"] for r in tunnels} | {r["d"] for r in tunnels}
        assert "partner" in segs and "workforce" not in segs  # pobox.com was the only workforce domain
    finally:
        pipeline.close()
