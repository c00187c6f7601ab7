"""A synthetic company that looks like a real one: real labelled text, bots, organisations and mess.

:class:`CompanyNetwork` plants the same structure as :class:`~valuenet.ingest.synth.SynthNetwork`
(teams, silo teams, brokers, influencer cascades, customer questions, picked-up ideas) and adds what
real value networks have and our generator's assumptions do not:

- **real text**: every message's text is drawn from human-labelled public text (GitHub issue
  sentences, Reddit comments; ``samples/labelled-*.train.jsonl.gz``, origin and licence in
  ``samples/labelled-origin.json``) whose label is the flow type the message plants
  (:data:`PLANTED`), so the classifier's real errors reach the metrics;
- **organisation and bot accounts** with the platform fields that mark them: GitHub
  ``dependabot[bot]`` and ``acme-ci[bot]`` (``type: "Bot"``), the ``acme`` organisation
  (``type: "Organization"``) owning every repository, a Slack deploy bot (``bot_id``,
  ``subtype: bot_message``), a Mastodon status bot (``bot: true``) and a Mastodon group
  (``group: true``) that boosts customers' posts;
- **people in two teams** (the directory names their first team; they chat in both);
- **partners who also post publicly** (Mastodon and Bluesky) and get likes and reposts;
- **missing profiles**: some customers and partners have no directory row, some workforce
  members miss one platform account in it;
- **noise flows**: company-wide announcements with reactions from anyone (silo members too);
- **cross-posting**: an influencer's post on Bluesky and Mastodon at once, a customer's question
  asked on two platforms.

What was planted beyond the base truth is in ``ground_truth()["realism"]``; each drawn text with
its planted label, kind and source in :attr:`CompanyNetwork.planted_texts`.
"""

from __future__ import annotations

import gzip
import json
import math
import random
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from valuenet.ingest.platforms._fake import TEAM_NAMES, TOPICS, Pending, Person, iso
from valuenet.ingest.synth import SynthNetwork
from valuenet.schemas.interaction import Source

__all__ = ["CompanyNetwork", "LABELLED_FILES", "PLANTED", "labelled_texts"]

SAMPLES = Path(__file__).with_name("samples")
#: The bundled labelled corpora (copies of the training halves; origin and licence in labelled-origin.json).
LABELLED_FILES = (
    SAMPLES / "labelled-arya-github-issues.train.jsonl.gz",
    SAMPLES / "labelled-goemotions-reddit.train.jsonl.gz",
)
#: The planted flow type of each template message of the base generator (by its first words).
#: ``question`` is a help-seeking question: flow type ``none`` (the answer is the knowledge flow).
PLANTED: tuple[tuple[str, str], ...] = (
    ("Heads up on", "knowledge"),
    ("Here is how", "knowledge"),
    ("Who knows", "question"),
    ("I can explain", "knowledge"),
    ("Question about", "question"),
    ("Here is the spec", "knowledge"),
    ("How do I configure", "question"),
    ("You set it in the admin panel", "knowledge"),
    ("Idea: what if", "idea"),
    ("Feature request:", "idea"),
    ("Great idea, we are picking this up", "reputation"),
    ("Tried Acme's", "reputation"),
    ("Acme's", "reputation"),
    ("This! Worth a read.", "reputation"),
    ("Bug in", "knowledge"),
    ("Steps to reproduce", "knowledge"),
    ("I can reproduce", "knowledge"),
    ("Looks good, one nit", "knowledge"),
    ("Reviewed", "knowledge"),
    ("Checked against our API", "knowledge"),
    ("Schedule ", "idea"),
    ("Suggested by a customer", "idea"),
)
#: Help-seeking sentences of the GitHub corpus: labelled ``none`` because they end in '?'.
_ASKING = frozenset(
    {"Usage", "Investigation and Exploration", "Bug Reproduction", "Observed Bug Behaviour", "Workarounds"}
)
#: Shares of the mess (of people, of episodes).
DUAL_TEAM_SHARE = 0.08
MISSING_CUSTOMER_SHARE = 0.12
MISSING_PARTNER_SHARE = 0.15
MISSING_ACCOUNT_SHARE = 0.10
EXTRA_EPISODE_SHARE = 0.22
#: A silo member skips this share of the announcements they would react to.
SILO_REACTS_SKIP = 0.9


#: Share of a cascade's amplifications that are quote posts (reposts are most of them on real networks).
QUOTE_SHARE = 0.12


class _QuoteRng:
    """The generator's rng, with the base cascade's one ``random()`` draw (``< 0.3``: a quote) rescaled to
    :data:`QUOTE_SHARE`; every other method is the generator's own, so the output stays deterministic."""

    def __init__(self, inner: random.Random) -> None:
        self._inner = inner

    def random(self) -> float:
        """A draw ``u`` of the inner rng mapped so that ``P(u' < 0.3) = QUOTE_SHARE``."""
        u = self._inner.random()
        return u * 0.3 / QUOTE_SHARE if u < QUOTE_SHARE else 0.3 + (u - QUOTE_SHARE) * 0.7 / (1 - QUOTE_SHARE)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@lru_cache(maxsize=1)
def labelled_texts() -> dict[str, tuple[str, ...]]:
    """Texts per planted label (knowledge, idea, reputation, none, question; quote: short approvals) from the bundled corpora."""
    pools: dict[str, list[str]] = {k: [] for k in ("knowledge", "idea", "reputation", "none", "question")}
    pools["quote"] = []
    for path in LABELLED_FILES:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                text = " ".join(str(row["text"]).split())
                if not 8 <= len(text) <= 500:
                    continue
                label = row["label"]
                if label == "none" and row.get("source_label") in _ASKING and text.endswith("?"):
                    label = "question"
                pools[label].append(text)
    # a quote post's own words: short approvals (a reputation sentence that asks something is no quote-approval)
    pools["quote"] = [t for t in pools["reputation"] if len(t) <= 120 and not t.endswith("?")]
    return {k: tuple(v) for k, v in pools.items()}


def _planted(template: str) -> str | None:
    for prefix, label in PLANTED:
        if template.startswith(prefix):
            return label
    return None


def _bot(login: str, uid: int, kind: str = "Bot") -> dict[str, Any]:
    return {
        "login": login,
        "id": uid,
        "node_id": f"BOT_{uid}",
        "type": kind,
        "site_admin": False,
        "html_url": f"https://github.com/{login.removesuffix('[bot]')}",
    }


class CompanyNetwork(SynthNetwork):
    """:class:`SynthNetwork` with real labelled text, bots, organisations, two-team people, missing profiles and noise."""

    def __init__(self, **kwargs: Any) -> None:
        self.planted_texts: list[tuple[str, str, str, str]] = []  # (label, text, kind, source)
        self._realism: Counter[str] = Counter()
        super().__init__(**kwargs)
        self._text_rng = random.Random(f"text:{self.seed}")
        self._pools = labelled_texts()

    # ------------------------------------------------------------------ population

    def _build_population(self, n: int) -> None:
        super()._build_population(n)
        rng = self.rng
        broker_ids = {b.person for b in self.brokers}
        open_teams = [t for t in self.teams if t not in self.silo_teams and t != "support"]
        self.second_team: dict[str, str] = {}
        for p in self.open_workforce:
            if p.person in broker_ids or p.team == "support" or len(open_teams) < 2:
                continue
            if rng.random() < DUAL_TEAM_SHARE:
                self.second_team[p.person] = rng.choice([t for t in open_teams if t != p.team])
        self.chat_members = {t: list(m) for t, m in self.teams.items()}
        for pid, t in self.second_team.items():
            self.chat_members[t].append(self._pid[pid])
        for p in self.partners:  # partners also post in public
            idx = self.people.index(p)
            login = p.email.split("@")[0]
            p.accounts["mastodon"] = str(109_500_000_000_000_000 + idx)
            p.handles["mastodon"] = f"{login}@social.example"
            p.accounts["bluesky"] = "did:plc:partner" + f"{idx:017d}"
            p.handles["bluesky"] = f"{login}.bsky.example"
            p.followers = int(rng.lognormvariate(math.log(800), 1.0))
        self.missing: set[str] = {p.person for p in self.customers if rng.random() < MISSING_CUSTOMER_SHARE}
        self.missing |= {p.person for p in self.partners if rng.random() < MISSING_PARTNER_SHARE}
        self.missing_account: dict[str, str] = {}
        for p in self.workforce:
            if p.person not in broker_ids and rng.random() < MISSING_ACCOUNT_SHARE:
                self.missing_account[p.person] = rng.choice(sorted(p.accounts))
        self.masto_bot = Person("bot:status", "Acme Status", "", "Acme", "status@acme.example")
        self.masto_bot.accounts["mastodon"] = "109999999999999901"
        self.masto_bot.handles["mastodon"] = "acme_status@social.example"
        self.masto_group = Person("group:users", "Acme Users", "", "", "users@groups.example")
        self.masto_group.accounts["mastodon"] = "109999999999999902"
        self.masto_group.handles["mastodon"] = "acme_users@groups.example"
        self._by_uid = {p.uid(pl): p for p in self.people for pl in p.accounts}

    def directory_rows(self) -> list[dict[str, str]]:
        """The base rows without the missing profiles and with the missing accounts blanked."""
        rows = []
        for row in super().directory_rows():
            pid = row["person"]
            if pid in self.missing:
                continue
            gone = self.missing_account.get(pid)
            if gone:
                uid = row.get(gone, "")
                row[gone] = ""
                row["accounts"] = ";".join(a for a in row["accounts"].split(";") if a != uid)
            rows.append(row)
        return rows

    def ground_truth(self) -> dict[str, Any]:
        """The base truth plus ``realism``: what the mess planted (bots, two-team people, missing profiles ...)."""
        truth = super().ground_truth()
        truth["realism"] = {
            "bots": [
                "github:dependabot[bot]",
                "github:acme-ci[bot]",
                "slack:B0DEPLOY01",
                self.masto_bot.uid("mastodon"),
            ],
            "organisations": ["github:acme", self.masto_group.uid("mastodon")],
            "second_team": dict(sorted(self.second_team.items())),
            "missing_profiles": sorted(self.missing),
            "missing_accounts": dict(sorted(self.missing_account.items())),
            "episodes": dict(sorted(self._realism.items())),
            "texts": dict(sorted(Counter(t[0] for t in self.planted_texts).items())),
        }
        return truth

    # ------------------------------------------------------------------ real text

    def _real(self, template: str, kind: str, source: str) -> str:
        label = _planted(template)
        if label is None or not self._pools.get(label):
            return template
        text = self._text_rng.choice(self._pools["quote" if kind == "quote" else label])
        self.planted_texts.append((label, text, kind, source))
        return text

    def _slack_message(self, heap: list[Pending], t: int, user: Person, channel: str, text: str, **kw: Any) -> str:
        kind = "reply" if kw.get("thread_ts") else "post"
        return super()._slack_message(heap, t, user, channel, self._real(text, kind, "slack"), **kw)

    def _gh_issue(self, heap: list[Pending], t: int, author: Person, team: str, title: str, body: str, *a: Any, **kw: Any) -> dict[str, Any]:  # fmt: skip
        return super()._gh_issue(heap, t, author, team, title, self._real(body, "post", "github"), *a, **kw)

    def _gh_comment(self, heap: list[Pending], t: int, who: Person, issue: dict[str, Any], team: str, text: str, *a: Any, **kw: Any) -> None:  # fmt: skip
        super()._gh_comment(heap, t, who, issue, team, self._real(text, "reply", "github"), *a, **kw)

    def _gh_review(self, heap: list[Pending], t: int, reviewer: Person, author: Person, team: str, state: str, text: str | None) -> None:  # fmt: skip
        real = self._real(text, "review", "github") if text else text
        super()._gh_review(heap, t, reviewer, author, team, state, real)

    def _discourse_post(self, heap: list[Pending], t: int, author: Person, topic_id: int, title: str, raw: str, post_number: int, *a: Any, **kw: Any) -> int:  # fmt: skip
        kind = "post" if post_number == 1 else "reply"
        return super()._discourse_post(heap, t, author, topic_id, title, self._real(raw, kind, "discourse"), post_number, *a, **kw)  # fmt: skip

    def _zendesk(self, heap: list[Pending], t: int, kind: str, ticket: int, requester: Person, agent: Person | None, text: str, *a: Any, **kw: Any) -> None:  # fmt: skip
        k = "ticket" if kind == "ticket.created" else "reply"
        super()._zendesk(heap, t, kind, ticket, requester, agent, self._real(text, k, "zendesk"), *a, **kw)

    def _masto_status(self, t: int, author: Person, text: str, **kw: Any) -> dict[str, Any]:
        if text and not kw.get("reblog"):
            text = self._real(text, "reply" if kw.get("reply_to") else "post", "mastodon")
        return super()._masto_status(t, author, text, **kw)

    def _bsky(self, heap: list[Pending], t: int, author: Person, collection: str, record: dict[str, Any], tag: dict[str, Any] | None = None) -> str:  # fmt: skip
        if "text" in record:
            kind = "reply" if "reply" in record else ("quote" if "embed" in record else "post")
            record = {**record, "text": self._real(record["text"], kind, "bluesky")}
        return super()._bsky(heap, t, author, collection, record, tag)

    # ------------------------------------------------------------------ episodes

    def _bsky_cascade(
        self, heap: list[Pending], t: int, cid: str, author: Person, uri: str, audience: list[Person], hop: int
    ) -> None:
        """As the base, with quotes a minority of the amplifications (:data:`QUOTE_SHARE`, the base: 30 %)."""
        saved, self.rng = self.rng, _QuoteRng(self.rng)  # type: ignore[assignment]
        try:
            super()._bsky_cascade(heap, t, cid, author, uri, audience, hop)
        finally:
            self.rng = saved

    def _episode(self, t: int, heap: list[Pending]) -> int:
        if self.rng.random() >= EXTRA_EPISODE_SHARE:
            return super()._episode(t, heap)
        before = len(heap)
        kinds = (
            self._dependabot,
            self._ci_bot,
            self._slack_deploy_bot,
            self._masto_bots,
            self._partner_public,
            self._announcement,
            self._cross_post,
            self._second_team_chat,
        )
        weights = (3, 3, 3, 3, 4, 4, 3, 4)
        episode = self.rng.choices(kinds, weights)[0]
        self._realism[episode.__name__.lstrip("_")] += 1
        episode(t, heap)
        return len(heap) - before

    def _team_chat(self, t: int, heap: list[Pending]) -> None:
        """As the base, among the people who chat in the team (its members and its second-team people)."""
        saved = self.teams
        self.teams = self.chat_members
        try:
            super()._team_chat(t, heap)
        finally:
            self.teams = saved

    def _second_team_chat(self, t: int, heap: list[Pending]) -> None:
        """A two-team person talks in the channel of their second team."""
        if not self.second_team:
            return self._team_chat(t, heap)
        pid = self.rng.choice(sorted(self.second_team))
        team = self.second_team[pid]
        other = self.rng.choice(self.teams[team])
        channel = f"C{TEAM_NAMES.index(team):02d}TEAM{team[:3].upper()}"
        root = self._slack_message(heap, t, self._pid[pid], channel, f"Heads up on {self.rng.choice(TOPICS)}")
        at = t + self._delay_ms(300, 1.0, 3600)
        self._slack_message(heap, at, other, channel, "Here is how it works", thread_ts=root, parent=self._pid[pid])
        return None

    def _dependabot(self, t: int, heap: list[Pending]) -> None:
        """dependabot[bot] opens a pull request in a team's repository; a member reviews it."""
        rng = self.rng
        team = rng.choice(list(self.teams))
        number = self._next_id()
        bot = _bot("dependabot[bot]", 49_699_333)
        pr = {
            "id": 800_000_000 + number,
            "number": number,
            "title": f"Bump {rng.choice(('requests', 'lodash', 'urllib3', 'axios'))} from 1.{number % 9}.0 to 1.{number % 9}.1",
            "body": "Bumps the dependency. Dependabot will resolve any conflicts with this PR.",
            "user": bot,
            "state": "open",
            "comments": 0,
            "created_at": iso(t, millis=False),
            "updated_at": iso(t, millis=False),
            "html_url": f"https://github.com/acme/{team}/issues/{number}",
            "labels": [],
            "assignees": [],
            "pull_request": {"url": f"https://api.github.com/repos/acme/{team}/pulls/{number}"},
        }
        body = {"action": "opened", "issue": pr, "repository": self._gh_repo(team), "sender": bot}
        self._gh(heap, t, "issues", body)
        reviewer = rng.choice(self.teams[team])
        review = {
            "id": 1_500_000_000 + number,
            "user": self._gh_user(reviewer),
            "body": None,
            "state": "approved",
            "submitted_at": iso(t + 3_600_000, millis=False),
            "commit_id": f"{number:040x}",
            "html_url": f"https://github.com/acme/{team}/pull/{number}#pullrequestreview-{number}",
        }
        pull = {k: pr[k] for k in ("id", "number", "title", "user", "state", "created_at")}
        pull["html_url"] = f"https://github.com/acme/{team}/pull/{number}"
        self._gh(
            heap,
            t + 3_600_000,
            "pull_request_review",
            {
                "action": "submitted",
                "review": review,
                "pull_request": pull,
                "repository": self._gh_repo(team),
                "sender": self._gh_user(reviewer),
            },
        )

    def _ci_bot(self, t: int, heap: list[Pending]) -> None:
        """A member opens an issue; acme-ci[bot] comments the build status on it."""
        rng = self.rng
        team = rng.choice(list(self.teams))
        author = rng.choice(self.teams[team])
        issue = self._gh_issue(heap, t, author, team, f"Bug in {rng.choice(TOPICS)}", "Steps to reproduce: ...")
        cid = 1_200_000_000 + self._next_id()
        bot = _bot("acme-ci[bot]", 41_898_282)
        at = t + 120_000
        comment = {
            "id": cid,
            "body": f"Build #{cid % 10_000} {'passed' if rng.random() < 0.7 else 'failed'}.",
            "user": bot,
            "created_at": iso(at, millis=False),
            "updated_at": iso(at, millis=False),
            "author_association": "NONE",
            "html_url": f"{issue['html_url']}#issuecomment-{cid}",
        }
        self._gh(
            heap,
            at,
            "issue_comment",
            {"action": "created", "issue": issue, "comment": comment, "repository": self._gh_repo(team), "sender": bot},
        )

    def _slack_deploy_bot(self, t: int, heap: list[Pending]) -> None:
        """The deploy bot posts in a team channel (``bot_id``); a member replies in its thread."""
        rng = self.rng
        team = rng.choice(list(self.teams))
        channel = f"C{TEAM_NAMES.index(team):02d}TEAM{team[:3].upper()}"
        ts = f"{t // 1000}.{(t % 1000) * 1000 + self._next_id() % 1000:06d}"
        event = {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0DEPLOY01",
            "username": "deploybot",
            "text": f"Deployed {team}@{self._next_id():07x} to production",
            "ts": ts,
            "event_ts": ts,
            "channel": channel,
            "channel_type": "channel",
        }
        self._push(heap, t, Source.slack, self._slack_callback(event, t))
        if rng.random() < 0.5:
            who = rng.choice(self.teams[team])
            at = t + self._delay_ms(300, 1.0, 3600)
            rts = f"{at // 1000}.{(at % 1000) * 1000 + self._next_id() % 1000:06d}"
            reply = {
                "type": "message",
                "channel": channel,
                "user": who.accounts["slack"],
                "text": "thanks, checking the dashboards",
                "ts": rts,
                "thread_ts": ts,
                "parent_user_id": "B0DEPLOY01",
                "event_ts": rts,
                "channel_type": "channel",
            }
            self._push(heap, at, Source.slack, self._slack_callback(reply, at))

    def _masto_bots(self, t: int, heap: list[Pending]) -> None:
        """The status bot (``bot: true``) posts and customers boost it; the group (``group: true``) boosts a customer."""
        rng = self.rng
        status = self._masto_status(t, self.masto_bot, "")
        status["content"] = f"<p>Scheduled maintenance of {rng.choice(TOPICS)} tonight.</p>"
        status["account"]["bot"] = True
        self._push(heap, t, Source.mastodon, status)
        for fan in rng.sample(self.customers, min(2, len(self.customers))):
            if "mastodon" in fan.accounts:
                at = t + self._delay_ms(600, 1.0, 86400)
                self._push(heap, at, Source.mastodon, self._masto_status(at, fan, "", reblog=status))
        author = rng.choice([c for c in self.customers if "mastodon" in c.accounts])
        at = t + 60_000
        post = self._masto_status(at, author, "Acme's export just got better.")
        self._push(heap, at, Source.mastodon, post)
        boost = self._masto_status(at + 5_000, self.masto_group, "", reblog=post)
        boost["account"]["group"] = True
        self._push(heap, at + 5_000, Source.mastodon, boost)

    def _partner_public(self, t: int, heap: list[Pending]) -> None:
        """A partner posts about the integration in public; customers like and repost it."""
        rng = self.rng
        partner = rng.choice(self.partners)
        uri = self._bsky(
            heap, t, partner, "app.bsky.feed.post", {"text": "Tried Acme's API with our app", "langs": ["en"]}
        )
        for fan in rng.sample(self.customers, min(len(self.customers), rng.randint(1, 4))):
            if "bluesky" not in fan.accounts:
                continue
            at = t + self._delay_ms(1800, 1.0, 86400)
            coll = "app.bsky.feed.repost" if rng.random() < 0.4 else "app.bsky.feed.like"
            self._bsky(heap, at, fan, coll, {"subject": {"uri": uri, "cid": "bafyreisynth"}})

    def _announcement(self, t: int, heap: list[Pending]) -> None:
        """Noise: a company-wide announcement by an open team's member; anyone may react (silo members rarely)."""
        rng = self.rng
        author = rng.choice(self.open_workforce)  # leadership and comms, never a silo team
        channel = "C00GENERAL"
        ts = self._slack_message(heap, t, author, channel, f"Heads up on {rng.choice(TOPICS)}")
        for who in rng.sample(self.workforce, min(len(self.workforce), rng.randint(1, 4))):
            if who is author or (who.team in self.silo_teams and rng.random() < SILO_REACTS_SKIP):
                continue
            self._slack_reaction(heap, t + self._delay_ms(600, 1.0, 7200), who, author, channel, ts)

    def _cross_post(self, t: int, heap: list[Pending]) -> None:
        """An influencer's post on Bluesky and Mastodon at once, or a customer's question on two platforms."""
        rng = self.rng
        if rng.random() < 0.7:
            infl = rng.choice(self.influencers)
            text = f"Tried Acme's {rng.choice(TOPICS)} today."
            uri = self._bsky(heap, t, infl, "app.bsky.feed.post", {"text": text, "langs": ["en"]})
            status = self._masto_status(t + 30_000, infl, text)
            self._push(heap, t + 30_000, Source.mastodon, status)
            fan = rng.choice(self.audience[infl.person])
            self._bsky(heap, t + 600_000, fan, "app.bsky.feed.like", {"subject": {"uri": uri, "cid": "bafyreisynth"}})
            return
        asker = rng.choice(self.customers)
        topic = rng.choice(TOPICS)
        for k, platform in enumerate(rng.sample(("discourse", "zendesk", "github"), 2)):
            self._conversation(
                heap,
                platform,
                t + k * 300_000,
                asker,
                f"How do I configure {topic}?",
                f"How do I configure {topic}? It fails for me.",
                {"role": "cross_post", "asker": asker.person},
                None,
            )
