"""The learned flow model: training reproduces the shipped file, it loads at start (a bad file stops the worker
there), calibration is a proper temperature fit, odd texts get a type, and uncertain typings are counted."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from typer.testing import CliRunner

from tests._metrics_flows import flow
from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.window import WindowSpec, bucket_of
from valuenet.processors.classify.learn import (
    WordTable,
    dataset_of,
    ece,
    fit_temperature,
    group_of,
    group_split,
    train,
    training_examples,
)
from valuenet.processors.classify.model import (
    LABELS,
    SHIPPED_MODEL,
    ModelLoadError,
    TextModel,
    default_model,
    model_path,
    set_default_model,
)
from valuenet.processors.classify.text import normalise


@pytest.fixture(scope="module")
def table() -> WordTable:
    return WordTable.load()


@pytest.fixture(scope="module")
def examples() -> list:
    return [e for e in training_examples() if e.is_text]


def test_validation_split_is_by_thread_and_covers_every_dataset(examples) -> None:
    train_part, val = group_split(examples)
    assert len(train_part) + len(val) == len(examples)
    tr_groups = {(dataset_of(e), group_of(e)) for e in train_part}
    assert tr_groups.isdisjoint((dataset_of(e), group_of(e)) for e in val)  # no thread on both sides
    issues = {group_of(e) for e in val if dataset_of(e) == "arya-github-issues"}
    all_issues = {group_of(e) for e in examples if dataset_of(e) == "arya-github-issues"}
    assert len(issues) == round(len(all_issues) / 4) >= 2  # a quarter of the issues, whole
    assert {dataset_of(e) for e in val} == {"arya-github-issues", "goemotions-reddit", "ours"}
    assert group_split(examples) == (train_part, val)  # deterministic


def test_fit_is_deterministic(examples, table) -> None:
    sample = examples[::7]
    a, b = TextModel.fit(sample, table=table), TextModel.fit(sample, table=table)
    assert a.to_json() == b.to_json()


def test_training_reproduces_the_shipped_model(table) -> None:
    """`valuenet train classify --no-store` from the committed data gives the shipped file's predictions."""
    model, report = train(table=table)
    shipped = TextModel.load(SHIPPED_MODEL)
    assert model.fingerprint == shipped.fingerprint and model.temperature == shipped.temperature
    assert set(model.weights) == set(shipped.weights) and set(model.words) == set(shipped.words)
    texts = [e.text for e in training_examples()[::11]]
    for t in texts:
        a, b = model.predict(normalise(t), "reply", "discourse"), shipped.predict(normalise(t), "reply", "discourse")
        assert a[0] == b[0] and a[1] == pytest.approx(b[1], abs=1e-4), t
    assert report.ece_after < 0.05  # calibrated on the held-out split (the raw head may already be close: T near 1)
    assert report.per_dataset["goemotions-reddit"]["macro_f1"] > 0.7


def test_temperature_fit_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 4.0, size=(4000, 4))
    true_t = 2.5
    p = np.exp(z / true_t)
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(4, p=row) for row in p])
    t = fit_temperature(z, y)
    assert abs(t - true_t) < 0.25
    conf_raw = np.exp(z).max(axis=1) / np.exp(z).sum(axis=1)
    conf_cal = np.exp(z / t).max(axis=1) / np.exp(z / t).sum(axis=1)
    correct = z.argmax(axis=1) == y
    assert ece(conf_cal, correct) < ece(conf_raw, correct) / 3


def test_calibration_keeps_the_ranking_and_is_monotone() -> None:
    """Temperature never changes the decision; a larger margin never gets a lower confidence."""
    m = TextModel.load(SHIPPED_MODEL)
    assert m.temperature > 1.0  # the raw head was over-confident on the held-out threads
    texts = ["thanks a lot!", "what if we added a dark mode", "the build fails on ARM", "lol", "Use --force to skip it"]
    for t in texts:
        raw = m.proba(normalise(t), "reply", "github", temperature=1.0)
        cal = m.proba(normalise(t), "reply", "github")
        assert np.argsort(raw).tolist() == np.argsort(cal).tolist()
        assert max(cal) <= max(raw) + 1e-12
    # confidence of the winner as a function of a growing margin: non-decreasing
    confs = []
    for margin in np.linspace(0, 10, 21):
        z = [margin, 0.0, 0.0, 0.0]
        e = [math.exp(x / m.temperature) for x in z]
        confs.append(e[0] / sum(e))
    assert confs == sorted(confs) and confs[0] == pytest.approx(0.25)


def test_odd_texts_get_a_type_and_a_reason() -> None:
    m = TextModel.load(SHIPPED_MODEL)
    rng = random.Random(5)
    odd = [
        "",
        "🎉🎉🔥",
        "word " * 20_000,
        "Das ist toll, merci beaucoup, ありがとう",
        "".join(chr(rng.randrange(0, 0x2FF)) for _ in range(500)),
        "\x00\x01\x02 binary \xff\xfe",
    ]
    for t in odd:
        label, p, why = m.predict(normalise(t), "post", "slack")
        assert label in LABELS and 0.0 < p <= 1.0 and why.startswith(f"model:{label} p=")


def _write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_bad_model_files_raise_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "m.json"
    cases = {
        "not JSON": "{nope",
        "field 'weights' is missing": json.dumps({"labels": ["idea"], "intercept": [0.0]}),
        "are not flow types": json.dumps({"labels": ["gold"], "intercept": [0.0], "weights": {}}),
        "malformed": json.dumps({"labels": ["idea", "none"], "intercept": [0.0, 0.0], "weights": {"x": [1.0]}}),
    }
    for needle, text in cases.items():
        _write(bad, text)
        with pytest.raises(ModelLoadError, match=needle) as exc:
            TextModel.load(bad)
        assert str(bad) in str(exc.value)
    with pytest.raises(ModelLoadError, match="cannot read"):
        TextModel.load(tmp_path / "missing.json")


def test_the_worker_stops_at_start_on_a_bad_model_file(tmp_path, monkeypatch) -> None:
    from valuenet.cli import app
    from valuenet.config import get_settings

    monkeypatch.setenv("VALUENET_HOME", str(tmp_path))
    get_settings.cache_clear()
    set_default_model(None)
    try:
        _write(model_path(), "\x00 garbage")
        result = CliRunner().invoke(app, ["worker"])
        assert result.exit_code == 2
        assert "flow model" in result.output and "classify-model.json" in result.output
    finally:
        set_default_model(None)
        get_settings.cache_clear()


def test_default_model_is_the_shipped_file_unless_retrained(tmp_path, monkeypatch) -> None:
    from valuenet.config import get_settings

    monkeypatch.setenv("VALUENET_HOME", str(tmp_path))
    get_settings.cache_clear()
    set_default_model(None)
    try:
        assert default_model().to_json() == TextModel.load(SHIPPED_MODEL).to_json()
    finally:
        set_default_model(None)
        get_settings.cache_clear()


def _confident(f, c: float):
    f.confidence = c
    return f


@pytest.mark.parametrize("batch", [False, True])
def test_uncertain_flows_are_counted_per_window(batch: bool) -> None:
    """uncertain_flows = flows in the window with confidence < uncertain_below; the share is over all its flows."""
    rng = random.Random(11)
    confidences = [round(rng.uniform(0.2, 1.0), 3) for _ in range(300)]
    flows = [
        _confident(flow(f"w{i % 7}", f"c{i % 5}", t=float(i * 20), flow_type=LABELS[i % 4]), c)
        for i, c in enumerate(confidences)
    ]
    store = GraphStore("n1", windows=["1h", "24h"], uncertain_below=0.45)
    if batch:
        store.add_many(flows)
    else:
        for f in flows:
            store.add(f)
    by_window = {w.window: w.network_metrics for w in store.tick().windows}
    first = WindowSpec.parse("1h", 60).first_bucket(bucket_of(flows[-1].timestamp.timestamp(), 60))
    in_hour = [f for f in flows if bucket_of(f.timestamp.timestamp(), 60) >= first]
    want_hour = sum(f.confidence < 0.45 for f in in_hour)
    assert by_window["24h"]["uncertain_flows"] == sum(c < 0.45 for c in confidences)
    assert by_window["24h"]["uncertain_share"] == pytest.approx(sum(c < 0.45 for c in confidences) / len(flows))
    assert by_window["1h"]["uncertain_flows"] == want_hour and 0 < want_hour < by_window["24h"]["uncertain_flows"]


def test_network_metrics_rows_carry_uncertain_flows() -> None:
    from valuenet.analytics.snapshot import network_rows

    store = GraphStore("n1", windows=["1h"], uncertain_below=0.5)
    store.add_many([_confident(flow("w1", "c1", t=float(i)), c) for i, c in enumerate([0.3, 0.49, 0.5, 0.9])])
    (row,) = network_rows(store.tick())
    assert row.uncertain_flows == 2 and row.uncertain_share == pytest.approx(0.5)


def test_an_older_network_metrics_table_gains_the_uncertain_columns(store) -> None:
    from datetime import UTC, datetime

    from valuenet.analytics.storage.reader import Reader
    from valuenet.analytics.storage.tables import table_spec
    from valuenet.schemas.metrics import NetworkMetrics

    store.query("DROP TABLE network_metrics")
    cut = "    uncertain_flows Int64,\n    uncertain_share Nullable(Float64),\n"
    old_ddl = table_spec("network_metrics").statement.replace(cut, "")
    assert "uncertain" not in old_ddl
    store.query(old_ddl)
    store.setup()  # what a worker does on start
    now = datetime(2025, 3, 3, 12, tzinfo=UTC)
    row = NetworkMetrics(
        network="n1", window="1h", computed_at=now, window_end=now, uncertain_flows=3, uncertain_share=0.25
    )
    store.write_models("network_metrics", [row])
    (got,) = Reader(store).network_metrics("n1", ["1h"])
    assert got["uncertain_flows"] == 3 and got["uncertain_share"] == pytest.approx(0.25)
