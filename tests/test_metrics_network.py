"""Responsiveness and idea pickup from hand-built threads; window filtering of both."""

from __future__ import annotations

import numpy as np
import pytest

from tests._metrics_flows import ASKS, flow
from valuenet.analytics.graph_store import GraphStore


def _threads() -> list:
    fl = []
    # 10 customer questions; question k answered by workforce after 60·(k+1) s, except k = 9
    for k in range(10):
        fl.append(flow(f"c{k}", None, t=k, kind="post", event_id=f"q{k}", flow_type="knowledge", reason=ASKS))
        fl.append(flow("c99", f"c{k}", t=k + 5, kind="reply", thread=f"q{k}"))  # customer reply: not an answer
        if k < 9:
            fl.append(flow(f"w{k}", f"c{k}", t=k + 60 * (k + 1), kind="reply", thread=f"q{k}"))
            fl.append(flow("w50", f"c{k}", t=k + 60 * (k + 1) + 30, kind="reply", thread=f"q{k}"))  # later answer
    # ideas: partner idea picked up after 100 s, customer idea picked up after 300 s (via parent_id),
    # customer idea never picked up, workforce idea (not counted)
    fl.append(flow("p1", "w1", t=1000, kind="suggestion", flow_type="idea", event_id="i1"))
    fl.append(flow("w1", "p1", t=1100, kind="reply", thread="i1"))
    fl.append(flow("c2", "w2", t=1000, kind="suggestion", flow_type="idea", event_id="i2"))
    fl.append(flow("w3", "c2", t=1300, kind="apply", parent_id="i2"))
    fl.append(flow("c3", "w2", t=1000, kind="suggestion", flow_type="idea", event_id="i3"))
    fl.append(flow("c4", "c3", t=1200, kind="reply", thread="i3"))
    fl.append(flow("w4", "w2", t=1000, kind="suggestion", flow_type="idea", event_id="i4"))
    fl.append(flow("w2", "w4", t=1010, kind="reply", thread="i4"))
    return fl


def test_responsiveness_median_and_p90() -> None:
    store = GraphStore("n1", windows=["1h"], allowed_lateness_seconds=10_000)
    store.add_many(reversed(_threads()))  # arrival order must not matter
    net = store.tick().windows[0].network_metrics
    delays = np.array([60.0 * (k + 1) for k in range(9)])
    assert net["responsiveness_median_s"] == pytest.approx(float(np.median(delays)))  # 300
    assert net["responsiveness_p90_s"] == pytest.approx(float(np.percentile(delays, 90)))  # 492
    assert (net["questions"], net["questions_answered"]) == (10, 9)  # q9 is never answered by the workforce


def test_idea_pickup_share_and_delay() -> None:
    store = GraphStore("n1", windows=["1h"])
    store.add_many(sorted(_threads(), key=lambda f: f.timestamp))
    net = store.tick().windows[0].network_metrics
    assert net["idea_pickup_share"] == pytest.approx(2 / 3)
    assert net["idea_pickup_median_s"] == pytest.approx(200.0)  # median of 100 and 300
    assert (net["ideas"], net["ideas_picked_up"]) == (3, 2)  # the workforce's own idea i4 is not counted


def test_only_questions_opened_in_the_window_count() -> None:
    store = GraphStore("n1", windows=["10m", "1h"], allowed_lateness_seconds=10_000)
    store.add(flow("c1", None, t=0, kind="ticket", event_id="old"))
    store.add(flow("w1", "c1", t=100, kind="reply", thread="old"))
    store.add(flow("c2", None, t=1800, kind="post", event_id="new", reason=ASKS))
    store.add(flow("w1", "c2", t=1810, kind="reply", thread="new"))
    short, long_ = store.tick().windows
    assert short.network_metrics["responsiveness_median_s"] == 10.0
    assert long_.network_metrics["responsiveness_median_s"] == pytest.approx(55.0)
    assert short.network_metrics["idea_pickup_share"] is None


def test_only_tickets_and_question_posts_open_questions() -> None:
    """A customer's ordinary post (a quote, a remark) or idea is not a question, even when the workforce replies."""
    store = GraphStore("n1", windows=["1h"])
    store.add_many(
        [
            flow("c1", None, t=0, kind="post", event_id="remark", flow_type="reputation", reason="rule:praise"),
            flow("w1", "c1", t=60, kind="reply", thread="remark"),
            flow("c2", None, t=0, kind="post", event_id="idea", flow_type="idea", reason=ASKS),
            flow("w1", "c2", t=90, kind="reply", thread="idea"),
            flow("c3", None, t=0, kind="ticket", event_id="ticket", flow_type="none"),
            flow("w1", "c3", t=120, kind="reply", thread="ticket"),
            flow("c4", None, t=0, kind="post", event_id="ask", flow_type="none", reason=ASKS),
            flow("w1", "c4", t=300, kind="reply", thread="ask"),
        ]
    )
    net = store.tick().windows[0].network_metrics
    assert (net["questions"], net["questions_answered"]) == (2, 2)  # the ticket and the question post
    assert net["responsiveness_median_s"] == pytest.approx((120 + 300) / 2)
    assert (net["ideas"], net["ideas_picked_up"], net["idea_pickup_median_s"]) == (1, 1, 90)
