"""Classification: priors, rules, model, guards, to_flow, the corpus and the evaluation's split discipline."""

from datetime import UTC, datetime

import pytest

from valuenet.processors.classify import classify, classify_many, to_flow, to_flows
from valuenet.processors.classify.evaluate import evaluate, split
from valuenet.processors.classify.model import LABELS, TextModel, load_corpus
from valuenet.processors.identity import IdentityResolver
from valuenet.processors.privacy import Pseudonymiser
from valuenet.schemas import FlowType, Interaction, Kind, Segment, Source

T0 = datetime(2025, 3, 1, tzinfo=UTC)
K, I, R, N = FlowType.knowledge, FlowType.idea, FlowType.reputation, FlowType.none


def it(kind, text=None, *, source=Source.slack, actor="slack:U1", target="slack:U2", **kw):
    return Interaction(
        event_id=f"e-{kind}-{hash(text)}",
        network="n",
        source=source,
        kind=kind,
        timestamp=T0,
        actor=actor,
        target=target,
        text=text,
        **kw,
    )


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


@pytest.fixture(scope="module")
def report(corpus):
    return evaluate(corpus)


@pytest.mark.parametrize(
    "kind,meta,expected,reason",
    [
        (Kind.star, {}, R, "prior:star"),
        (Kind.repost, {}, R, "prior:repost"),
        (Kind.follow, {}, R, "prior:follow"),
        (Kind.approve, {"trailer": "Acked-by"}, R, "prior:approve (Acked-by)"),
        (Kind.help, {"trailer": "Helped-by"}, K, "prior:help (Helped-by)"),
        (Kind.suggestion, {"trailer": "Suggested-by"}, I, "prior:suggestion (Suggested-by)"),
        (Kind.apply, {}, R, "prior:apply"),
        (Kind.fork, {}, R, "prior:fork"),
        (Kind.reaction, {"reaction": "tada"}, R, "prior:reaction"),
        (Kind.reaction, {"reaction": "-1"}, N, "prior:reaction -1 carries no recognition"),
        (Kind.review, {"state": "approved"}, R, "prior:review approved"),
        (Kind.delete, {}, N, "prior:delete"),
    ],
)
def test_kind_priors(kind, meta, expected, reason):
    c = classify(it(kind, metadata=meta))
    assert (c.flow_type, c.reason) == (expected, reason)


@pytest.mark.parametrize(
    "text,expected,reason_start",
    [
        ("Thanks <@U024BE7LH>, that fixed it!", R, "rule:praise"),
        ("What if we moved the standup to Slack threads?", I, "rule:proposal 'what if we'"),
        ("Feature request: CSV export for the audit log", I, "rule:proposal 'feature request'"),
        ("You can set `retries=5` in the client config", K, "rule:how-to 'you can'"),
        ("How do I rotate the API key without downtime?", N, "rule:question 'how do i'"),
        ("bump", N, "rule:noise"),
        ("<@U0AB12> has joined the channel", N, "rule:noise"),
        ("<p>Thank you for the wonderful write-up!</p>", R, "rule:praise"),
    ],
)
def test_text_rules(text, expected, reason_start):
    c = classify(it(Kind.reply, text))
    assert c.flow_type is expected
    assert c.reason.startswith(reason_start)


def test_model_decides_when_rules_do_not_and_explains_with_features():
    c = classify(
        it(Kind.post, "Root cause of the outage: the certificate expired on the load balancer", source=Source.github)
    )
    assert c.flow_type is K
    assert c.reason.startswith("model:knowledge p=") and "'" in c.reason
    assert 0.25 < c.confidence <= 1.0


def test_guards_bots_self_and_empty():
    assert classify(it(Kind.reply, "Thanks!", actor="github:dependabot[bot]")).reason == "guard:bot"
    assert classify(it(Kind.reply, "great work", metadata={"bot_id": "B1"})).flow_type is N
    assert classify(it(Kind.reply, "great work", target="slack:U1")).reason == "guard:self"
    assert classify(it(Kind.reply, "   ")).flow_type is N
    assert classify(it(Kind.quote, None)).flow_type is R


def test_classify_many_equals_one_by_one(corpus):
    from valuenet.processors.classify.evaluate import as_interaction

    items = [as_interaction(e) for e in corpus[:120]]
    assert classify_many(items) == [classify(x) for x in items]


def test_classify_many_batch_path_equals_one_by_one_on_unseen_texts(corpus):
    """Batches above the sparse-product threshold: same labels, confidences and explanations."""
    from valuenet.processors.classify.evaluate import as_interaction

    items = [as_interaction(e) for e in corpus if e.is_text]
    items = [x.model_copy(update={"text": f"{x.text} and also the widget {i}"}) for i, x in enumerate(items)]
    many = classify_many(items)
    one = [classify(x) for x in items]
    assert many == one
    assert sum(c.reason.startswith("model:") for c in many) >= 50  # the batch model path really ran


def test_model_predict_many_matches_predict_and_names_top_features(corpus):
    m = TextModel.fit(corpus)
    texts = [
        "the deploy failed because the disk was full",
        "what if we added dark mode",
        "thanks so much",
        "zzz qqq",
        "Root cause: the certificate expired",
    ] * 5
    items = [(t, "post", "github") for t in texts]
    batch = m.predict_many(items)
    assert batch == [m.predict(*x) for x in items]
    label, p, why = batch[0]
    assert label in LABELS and 0.25 < p <= 1.0
    assert why.startswith(f"model:{label} p={p:.2f} (") and why.count("'") >= 2
    contrib = {f: w[m.labels.index(label)] for f, w in m.weights.items()}
    named = [part.split("' ")[0].strip("'") for part in why.split("(", 1)[1].rstrip(")").split(", ")]
    assert named == sorted(named, key=lambda f: -contrib[f])  # most helpful first


def test_rules_gate_agrees_with_plain_regex_search():
    from valuenet.processors.classify import reading

    texts = [
        "what if we cached it, you can run CODE",
        "thanks for the fix!",
        "bump",
        "how do I fix this error?",
        "we should add retries",
        "nothing to see",
        "see the docs",
        "日本",
        "café error?",
        "🎉🎉",
        "naïve fix is",
        "ok, thank you. i'll try to reinstall it",
        "should we add a flag? yep, sounds good",
        "@user thanks.",
    ]
    families = list(reading.act_patterns().values())
    for t in texts:
        expect = {i for i, rx in enumerate(families) if rx.search(t)}
        assert set(reading.which_acts(t)) == expect, t


def test_to_flows_equals_to_flow_one_by_one(tmp_path, corpus):
    from valuenet.processors.classify.evaluate import as_interaction

    p = tmp_path / "d.yaml"
    p.write_text("people:\n  - person: alice\n    accounts: discourse:giver;bluesky:giver\n    team: core\n")
    ident = IdentityResolver(p)
    items = [as_interaction(e) for e in corpus[:80]]
    ps = Pseudonymiser("k" * 32)
    assert to_flows(items, ident, ps) == [to_flow(x, ident, pseudonymiser=ps) for x in items]
    assert {f.giver for f in to_flows(items, ident)} >= {"person:alice"}


def test_to_flow_resolves_people_and_pseudonymises(tmp_path):
    p = tmp_path / "d.yaml"
    p.write_text(
        "rules:\n  workforce_domains: [acme.com]\npeople:\n"
        "  - person: alice\n    accounts: slack:U1;github:alice\n    emails: a@acme.com\n    team: core\n"
    )
    ident = IdentityResolver(p)
    f = to_flow(it(Kind.reaction, target="github:someone", actor="github:alice"), ident)
    assert (f.giver, f.giver_segment, f.giver_team, f.receiver, f.receiver_segment, f.flow_type) == (
        "person:alice",
        Segment.workforce,
        "core",
        "github:someone",
        Segment.unknown,
        R,
    )
    same_person = to_flow(it(Kind.reaction, actor="slack:U1", target="github:alice"), ident)
    assert (same_person.flow_type, same_person.reason) == (N, "guard:self")
    ps = Pseudonymiser("k" * 32)
    g = to_flow(it(Kind.star, actor="github:alice", target="github:bob"), ident, pseudonymiser=ps)
    assert g.giver == ps.pseudonym("person:alice") and g.receiver == ps.pseudonym("github:bob")


def test_corpus_shape(corpus):
    assert len(corpus) >= 300
    assert {e.label for e in corpus} == set(LABELS)
    sources = {e.source for e in corpus}
    assert {"slack", "github", "discourse", "mastodon", "reddit", "zendesk", "git"} <= sources
    assert all(e.text for e in corpus if e.is_text)


def test_split_is_disjoint_grouped_stratified_and_seeded(corpus):
    from valuenet.processors.classify.text import normalise

    train, test = split(corpus)
    ids_train, ids_test = {e.id for e in train}, {e.id for e in test}
    assert not ids_train & ids_test and len(ids_train | ids_test) == len(corpus)
    texts_train = {normalise(e.text).lower() for e in train if e.is_text}
    assert not any(normalise(e.text).lower() in texts_train for e in test if e.is_text)
    for lab in LABELS:  # stratified: each label's share within 5 points
        share_all = sum(e.label == lab for e in corpus) / len(corpus)
        share_test = sum(e.label == lab for e in test) / len(test)
        assert abs(share_all - share_test) < 0.05
    assert [e.id for e in split(corpus)[1]] == [e.id for e in test]
    assert [e.id for e in split(corpus, seed=99)[1]] != [e.id for e in test]


def test_evaluation_never_trains_on_held_out(report):
    assert report.model_trained_ids and not report.model_trained_ids & report.test_ids
    assert report.model_trained_ids <= report.train_ids
    assert len(report.y_true) == len(report.test_ids)
    assert sum(map(sum, report.confusion)) == len(report.test_ids)


def test_macro_f1_meets_target(report):
    assert report.macro_f1 >= 0.85
    assert report.text_macro_f1 >= 0.80


def test_model_fit_is_deterministic(corpus):
    a, b = TextModel.fit(corpus), TextModel.fit(corpus)
    assert a.fingerprint == b.fingerprint and a.weights == b.weights and a.intercept == b.intercept


def test_model_roundtrip(tmp_path, corpus):
    m = TextModel.fit(corpus)
    m.save(tmp_path / "m.json")
    m2 = TextModel.load(tmp_path / "m.json")
    text = "the deploy failed because the disk was full"
    assert m2.predict(text, "reply", "slack") == m.predict(text, "reply", "slack")


def test_corrections_are_stored_and_learned(chdb_store, tmp_path):
    from valuenet.analytics.storage.labels import CorrectionError, retrain_from_store, store_correction, stored_examples
    from valuenet.processors.classify.model import set_default_model

    text = "zorblax quux frobnicate"  # words no corpus example has: only the correction can teach them
    chdb_store.write_models("interactions", [it(Kind.post, text, source=Source.discourse)])
    event_id = f"e-{Kind.post}-{hash(text)}"
    with pytest.raises(CorrectionError, match="label"):
        store_correction(chdb_store, "n", event_id, "gold")
    with pytest.raises(CorrectionError, match="event_id"):
        store_correction(chdb_store, "n", "missing", "idea")
    store_correction(chdb_store, "n", event_id, "none")
    store_correction(chdb_store, "n", event_id, "idea")  # the latest wins
    ex = stored_examples(chdb_store, "n")
    assert [(e.id, e.kind, e.text, e.label) for e in ex] == [(f"label:n:{event_id}", "post", text, "idea")]
    try:
        model, n = retrain_from_store(chdb_store, home=tmp_path)
        assert n == 1 and f"label:n:{event_id}" in model.trained_ids
        assert (tmp_path / "models" / "classify-model.json").is_file()
        label, _, why = model.predict(text, "post", "discourse")
        assert label == "idea" and "zorblax" in why
    finally:
        set_default_model(None)
        from valuenet.processors.classify import reset_caches

        reset_caches()


def test_feature_index_gives_the_ids_of_the_string_features(corpus):
    from valuenet.processors.classify.text import features, normalise
    from valuenet.processors.classify.vocab import FeatureIndex

    m = TextModel.fit(corpus)
    names = sorted(m.weights)
    index = {f: i for i, f in enumerate(names)}
    fi = FeatureIndex(names)
    texts = [e.text for e in corpus if e.text] + ["", "?", "Why? why not!", "ok :) +1 +1 ok"]
    for text in texts:
        plain = normalise(text)
        for kind, source in (("post", "slack"), ("reply", "github"), ("ticket", "nowhere")):
            want = list(dict.fromkeys(index[f] for f in features(plain, kind, source) if f in index))
            assert fi.ids(plain, kind, source) == want, text


def test_a_mention_is_classified_as_the_item_it_sits_in() -> None:
    text = "What if we moved the standup to 10:00 so the Berlin team can join?"
    post = classify(it(Kind.post, text, target=None))
    mention = classify(it(Kind.mention, text, metadata={"in": "post"}))
    assert post.flow_type is FlowType.idea and mention == post
    many = classify_many([it(Kind.mention, text, metadata={"in": "post"}), it(Kind.post, text, target=None)])
    assert many == [post, post]
    in_review = classify(it(Kind.mention, "see line 12", metadata={"in": "review", "state": "changes_requested"}))
    assert in_review.flow_type is FlowType.knowledge and in_review.reason.startswith("prior:review")
    in_bot_post = classify(it(Kind.mention, text, metadata={"in": "post", "bot_id": "B1"}))
    assert in_bot_post.reason == "guard:bot"


def test_questions_are_none_whoever_decides() -> None:
    rule = classify(it(Kind.post, "How do I reset my password? The link fails", target=None))
    assert (rule.flow_type, rule.reason.split(" ")[0]) == (FlowType.none, "rule:question")
    model = classify(it(Kind.post, "Why does the nightly export take twice as long since Tuesday?", target=None))
    assert model.flow_type is not FlowType.knowledge
    proposal = classify(it(Kind.post, "Could we add a dark mode to the dashboard?", target=None))
    assert proposal.flow_type is FlowType.idea  # a proposal phrased as a question stays an idea
