"""A synthetic value network with planted structure, emitted in real platform payload formats.

The population: a company's **workforce** in teams (e-mail domain of the
company), **partners** (partner companies' domains), **customers** and
**influencers** (with follower counts). The planted structure:

- **silo teams**: every flow touching a silo member stays inside the team;
- **brokers**: a few workforce members are the only ones who exchange with
  partners and across teams (so they carry the between-segment paths; the
  customer tunnel is the support team, plus whoever picks up an idea);
- **cascades**: influencers' posts are reposted and quoted by their audience,
  and quotes are amplified again (up to :data:`CASCADE_HOPS` hops);
- **questions**: customers ask (Discourse topics, Zendesk tickets) and a
  support-team member answers after a log-normal delay;
- **idea pickup**: customers post ideas that a workforce member takes up
  (a Discourse reply and a GitHub issue).

Events are real payloads (Slack Events API, GitHub webhooks, Discourse
webhooks, Mastodon statuses and notifications, Bluesky Jetstream commits,
Zendesk ticket events), written by each platform's faker
(``valuenet.ingest.platforms.<name>.fake``) and wrapped in :class:`RawEnvelope`
so they go through the real parsers. Everything is drawn from one ``random.Random(seed)``: the same
seed, size, rate and start give byte-identical output.

Usage::

    gen = SynthNetwork(seed=7, actors=200, rate=1.0)
    for env in gen.envelopes(10_000): ...
    gen.ground_truth()      # brokers, silo teams, cascades, reach, delays, segments
    gen.directory_rows()    # person, accounts per platform, email, team, organisation, segment
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import json
import math
import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from valuenet.ingest.platforms._fake import TEAM_NAMES, TOPICS, Pending, Person, iso
from valuenet.ingest.platforms.bluesky.fake import BlueskyFaker
from valuenet.ingest.platforms.discourse.fake import DISCOURSE_URL, DiscourseFaker
from valuenet.ingest.platforms.github.fake import GitHubFaker
from valuenet.ingest.platforms.mastodon.fake import MastodonFaker
from valuenet.ingest.platforms.slack.fake import SlackFaker
from valuenet.ingest.platforms.zendesk.fake import ZendeskFaker
from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.interaction import Source

__all__ = [
    "CASCADE_HOPS",
    "DEFAULT_START",
    "DIRECTORY_PLATFORMS",
    "Person",
    "SynthNetwork",
    "write_dataset",
]

UTC = UTC
#: Fixed default start of event time, so files are reproducible.
DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: Amplification cascades go at most this many hops from the influencer.
CASCADE_HOPS = 3
#: Platforms with an account column in the directory CSV.
DIRECTORY_PLATFORMS = ("slack", "github", "discourse", "mastodon", "bluesky", "zendesk")

COMPANY = ("Acme", "acme.example")
PARTNERS = (("Globex", "globex.example"), ("Initech", "initech.example"), ("Umbrella", "umbrella.example"))
CUSTOMER_DOMAINS = ("mail.example", "inbox.example", "hooli.example", "vandelay.example")
FIRST = (
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Goran",
    "Hana",
    "Ivo",
    "Jana",
    "Kofi",
    "Lena",
    "Milan",
    "Nia",
    "Omar",
    "Petra",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Xena",
    "Yusuf",
    "Zoe",
)
LAST = (
    "Kovac",
    "Novak",
    "Smith",
    "Garcia",
    "Okafor",
    "Tanaka",
    "Horvat",
    "Silva",
    "Müller",
    "Rossi",
    "Haddad",
    "Ivanova",
    "Nguyen",
    "Berg",
    "Costa",
    "Dubois",
    "Patel",
    "Larsen",
    "Meyer",
    "Ortiz",
)
#: Where customers ask questions and bring ideas (partners bring theirs to a shared Slack channel).
QUESTION_PLATFORMS = ("discourse", "zendesk", "github", "slack", "mastodon", "bluesky")
IDEA_PLATFORMS = ("discourse", "github", "slack", "mastodon", "bluesky", "zendesk")
#: Share of ideas the workforce picks up (the rest get no workforce reply).
IDEA_PICKUP_SHARE = 0.75


class SynthNetwork(SlackFaker, GitHubFaker, DiscourseFaker, ZendeskFaker, MastodonFaker, BlueskyFaker):
    """A deterministic generator of a value network's events and its ground truth.

    The scenario (who exists, who talks to whom, when) lives here; each platform's payloads are
    written by its faker (``valuenet.ingest.platforms.<name>.fake``).
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        actors: int = 200,
        rate: float = 1.0,
        start: datetime = DEFAULT_START,
        network: str = "synth",
    ) -> None:
        if actors < 20:
            raise ValueError("actors: need at least 20 to plant teams, partners, customers and influencers")
        if rate <= 0:
            raise ValueError("rate: must be positive (events per second of event time)")
        self.seed = seed
        self.rate = rate
        self.network = network
        self.start_ms = int(start.astimezone(UTC).timestamp() * 1000)
        self.rng = random.Random(seed)
        self._seq = 0
        self._ids = 0
        self.people: list[Person] = []
        self.teams: dict[str, list[Person]] = {}
        self.silo_teams: list[str] = []
        self.brokers: list[Person] = []
        self._build_population(actors)
        self._truth_questions: dict[str, dict[str, Any]] = {}
        self._truth_ideas: dict[str, dict[str, Any]] = {}
        self._truth_cascades: dict[str, dict[str, Any]] = {}
        self._emitted = 0
        self._counts: dict[str, int] = defaultdict(int)
        self._last_ms = self.start_ms

    # ------------------------------------------------------------------ population

    def _build_population(self, n: int) -> None:
        rng = self.rng
        n_infl = max(2, round(0.04 * n))
        n_part = max(2, round(0.10 * n))
        n_work = max(9, round(0.45 * n))
        n_cust = n - n_infl - n_part - n_work
        if n_cust < 3:
            raise ValueError("actors: too few for the customer segment")
        names_used: set[str] = set()

        def new(segment: str, org: str, domain: str, team: str | None = None) -> Person:
            i = len(self.people)
            while True:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                if name not in names_used or len(names_used) > 400:
                    break
            names_used.add(name)
            handle = name.lower().replace(" ", "-").replace("ü", "u") + f"-{i}"
            p = Person(
                person=f"p{i:05d}",
                name=name,
                segment=segment,
                organisation=org,
                email=f"{handle}@{domain}",
                team=team,
            )
            self.people.append(p)
            return p

        n_teams = max(3, min(len(TEAM_NAMES), n_work // 8))
        team_names = list(TEAM_NAMES[:n_teams])
        for t in team_names:
            self.teams[t] = []
        for k in range(n_work):
            t = team_names[k % n_teams]
            self.teams[t].append(new("workforce", COMPANY[0], COMPANY[1], t))
        for k in range(n_part):
            org, dom = PARTNERS[k % len(PARTNERS)]
            new("partner", org, dom)
        for _ in range(n_cust):
            new("customer", "", rng.choice(CUSTOMER_DOMAINS))
        for _ in range(n_infl):
            new("influencer", "", "media.example")

        candidates = [t for t in team_names if t != "support"]
        n_silo = max(1, n_teams // 4)
        self.silo_teams = sorted(rng.sample(candidates, n_silo))
        open_teams = [t for t in team_names if t not in self.silo_teams]
        n_brokers = max(2, min(5, len(open_teams) - 1))
        broker_teams = rng.sample(
            [t for t in open_teams if t != "support"] or open_teams, min(n_brokers, len(open_teams) - 1)
        )
        self.brokers = [rng.choice(self.teams[t]) for t in sorted(broker_teams)]

        for i, p in enumerate(self.people):
            login = p.email.split("@")[0]
            digest = hashlib.sha256(f"{self.seed}:{i}".encode()).hexdigest()
            if p.segment in ("workforce", "partner", "customer"):  # customers: a Slack Connect channel
                p.accounts["slack"] = f"U{0x100000 + i:X}"
                p.handles["slack"] = login
            if p.segment in ("workforce", "partner", "customer"):
                p.accounts["github"] = str(5_000_000 + i)
                p.handles["github"] = login
            if p.segment in ("workforce", "customer"):
                p.accounts["discourse"] = str(100 + i)
                p.handles["discourse"] = login.replace("-", "_")
            if p.segment == "customer" or (p.segment == "workforce" and p.team == "support"):
                p.accounts["zendesk"] = str(360_000_000_000 + i)
                p.handles["zendesk"] = p.name
            if p.segment in ("customer", "influencer") or (p.segment == "workforce" and p.team == "support"):
                p.accounts["mastodon"] = str(109_000_000_000_000_000 + i)
                p.handles["mastodon"] = f"{login}@social.example"
                b32 = "".join(
                    "abcdefghijklmnopqrstuvwxyz234567"[int(digest[k : k + 2], 16) % 32] for k in range(0, 48, 2)
                )
                p.accounts["bluesky"] = f"did:plc:{b32}"
                p.handles["bluesky"] = f"{login}.bsky.example"
            if p.segment == "influencer":
                p.followers = int(rng.lognormvariate(math.log(20_000), 1.0))
            elif p.segment == "customer":
                p.followers = int(rng.lognormvariate(math.log(150), 1.2))

        self.workforce = [p for p in self.people if p.segment == "workforce"]
        self.partners = [p for p in self.people if p.segment == "partner"]
        self.customers = [p for p in self.people if p.segment == "customer"]
        self.influencers = [p for p in self.people if p.segment == "influencer"]
        self.open_workforce = [p for p in self.workforce if p.team not in self.silo_teams]
        self.support = self.teams["support"]
        # each influencer's audience: customers, more of them for more followers
        self.audience: dict[str, list[Person]] = {}
        max_f = max(p.followers or 1 for p in self.influencers)
        for p in self.influencers:
            share = 0.2 + 0.6 * math.log1p(p.followers or 1) / math.log1p(max_f)
            k = max(2, round(share * len(self.customers)))
            self.audience[p.person] = rng.sample(self.customers, min(k, len(self.customers)))
        self._by_uid = {p.uid(pl): p for p in self.people for pl in p.accounts}
        self._pid = {p.person: p for p in self.people}

    def person_of(self, actor_id: str | None) -> Person | None:
        """The person behind a parsed actor id (``<source>:<platform id>``), or None."""
        return self._by_uid.get(actor_id) if actor_id else None

    # ------------------------------------------------------------------ emission

    def envelopes(self, limit: int | None = None) -> Iterator[RawEnvelope]:
        """Yield envelopes in event-time order; ``limit`` events in all (None = forever)."""
        heap: list[Pending] = []
        next_episode = self.start_ms
        while limit is None or self._emitted < limit:
            while not heap or heap[0].at_ms > next_episode:
                n = self._episode(next_episode, heap)
                gap_s = self.rng.expovariate(self.rate / max(1, n))
                next_episode += max(1, int(gap_s * 1000))
            item = heapq.heappop(heap)
            self._record(item)
            self._emitted += 1
            self._counts[item.envelope.source.value] += 1
            self._last_ms = item.at_ms
            yield item.envelope

    def _delay_ms(self, median_s: float, sigma: float, cap_s: float = 7 * 86400) -> int:
        return max(1000, int(min(cap_s, self.rng.lognormvariate(math.log(median_s), sigma)) * 1000))

    def _episode(self, t: int, heap: list[Pending]) -> int:
        before = len(heap)
        kinds = (
            self._team_chat,
            self._cross_team,
            self._partner_exchange,
            self._github_work,
            self._customer_question,
            self._customer_idea,
            self._influencer_post,
            self._fan_action,
        )
        weights = (30, 6, 5, 10, 8, 5, 5, 3)
        self.rng.choices(kinds, weights)[0](t, heap)
        return len(heap) - before

    # ------------------------------------------------------------------ ground truth

    def _record(self, item: Pending) -> None:
        tag = item.tag
        role = tag.get("role")
        if role in ("ask", "answer"):
            q = self._truth_questions.setdefault(tag["question"], {"id": tag["question"]})
            q.update({k: v for k, v in tag.items() if k not in ("role", "question")})
            q["asked_at_ms" if role == "ask" else "answered_at_ms"] = item.at_ms
        elif role in ("idea", "pickup"):
            d = self._truth_ideas.setdefault(tag["idea"], {"id": tag["idea"]})
            d.update({k: v for k, v in tag.items() if k not in ("role", "idea")})
            d["posted_at_ms" if role == "idea" else "picked_up_at_ms"] = item.at_ms
        elif role == "cascade_root":
            self._truth_cascades[tag["cascade"]] = {
                "id": tag["cascade"],
                "influencer": tag["influencer"],
                "platform": tag["platform"],
                "root": tag["root"],
                "posted_at": iso(item.at_ms),
                "amplifications": [],
            }
        elif role == "amplify":
            c = self._truth_cascades.get(tag["cascade"])
            if c is not None:
                c["amplifications"].append({k: tag[k] for k in ("actor", "via", "hop", "kind", "item")})

    def ground_truth(self) -> dict[str, Any]:
        """What was planted, for the events emitted so far (JSON-ready)."""
        questions = []
        for q in self._truth_questions.values():
            if "asked_at_ms" in q and "answered_at_ms" in q:
                questions.append(
                    {
                        **{k: v for k, v in q.items() if not k.endswith("_ms")},
                        "asked_at": iso(q["asked_at_ms"]),
                        "answered_at": iso(q["answered_at_ms"]),
                        "delay_s": (q["answered_at_ms"] - q["asked_at_ms"]) / 1000,
                    }
                )
        unanswered = sum(1 for q in self._truth_questions.values() if "answered_at_ms" not in q)
        ideas = []
        for d in self._truth_ideas.values():
            if "posted_at_ms" in d and "picked_up_at_ms" in d:
                ideas.append(
                    {
                        **{k: v for k, v in d.items() if not k.endswith("_ms")},
                        "posted_at": iso(d["posted_at_ms"]),
                        "picked_up_at": iso(d["picked_up_at_ms"]),
                        "delay_s": (d["picked_up_at_ms"] - d["posted_at_ms"]) / 1000,
                    }
                )
        reach: dict[str, set[str]] = {p.person: set() for p in self.influencers}
        by_hop: dict[str, dict[int, set[str]]] = {p.person: defaultdict(set) for p in self.influencers}
        for c in self._truth_cascades.values():
            for a in c["amplifications"]:
                if a["actor"] != c["influencer"]:
                    reach[c["influencer"]].add(a["actor"])
                    by_hop[c["influencer"]][a["hop"]].add(a["actor"])
        delays = sorted(q["delay_s"] for q in questions)
        posted = sum(1 for d in self._truth_ideas.values() if "posted_at_ms" in d)
        pickups = sorted(d["delay_s"] for d in ideas)
        return {
            "seed": self.seed,
            "network": self.network,
            "events": self._emitted,
            "events_per_source": dict(sorted(self._counts.items())),
            "rate": self.rate,
            "start": iso(self.start_ms),
            "end": iso(self._last_ms),
            "company": {"name": COMPANY[0], "domain": COMPANY[1]},
            "partners": [{"name": n, "domain": d} for n, d in PARTNERS],
            "teams": {t: [p.person for p in m] for t, m in self.teams.items()},
            "silo_teams": list(self.silo_teams),
            "brokers": [{"person": b.person, "team": b.team, "bridges": ["teams", "partner"]} for b in self.brokers],
            "influencers": [
                {"person": p.person, "followers": p.followers, "accounts": {k: p.uid(k) for k in p.accounts}}
                for p in self.influencers
            ],
            "cascade_hops": CASCADE_HOPS,
            "cascades": list(self._truth_cascades.values()),
            "reach": {k: len(v) for k, v in reach.items()},
            "reach_by_hop": {k: {str(h): len(s) for h, s in sorted(v.items())} for k, v in by_hop.items()},
            "potential_reach": {
                k: (self._pid[k].followers or 0) + sum(self._pid[a].followers or 0 for a in v) for k, v in reach.items()
            },
            "questions": questions,
            "unanswered_questions": unanswered,
            "responsiveness": {
                "answered": len(delays),
                "median_s": _quantile(delays, 0.5),
                "p90_s": _quantile(delays, 0.9),
            },
            "ideas": ideas,
            "idea_pickup": {
                "ideas": posted,
                "picked_up": len(pickups),
                "share": len(pickups) / posted if posted else None,
                "median_s": _quantile(pickups, 0.5),
            },
            "segments": {p.person: p.segment for p in self.people},
            "accounts": {p.person: {k: p.uid(k) for k in p.accounts} for p in self.people},
        }

    def directory_rows(self) -> list[dict[str, str]]:
        """One row per person in the identity directory's CSV shape (``valuenet.processors.directory``), plus one column per platform."""
        rows = []
        for p in self.people:
            accounts = [p.uid(pl) for pl in DIRECTORY_PLATFORMS if pl in p.accounts]
            row = {
                "person": p.person,
                "name": p.name,
                "accounts": ";".join(accounts),
                "emails": p.email,
                "email": p.email,
                "team": p.team or "",
                "organisation": p.organisation,
                "segment": p.segment,
                "followers": "" if p.followers is None else str(p.followers),
            }
            for pl in DIRECTORY_PLATFORMS:
                row[pl] = p.uid(pl) if pl in p.accounts else ""
            rows.append(row)
        return rows

    # ------------------------------------------------------------------ episodes

    def _team_chat(self, t: int, heap: list[Pending]) -> None:
        rng = self.rng
        team = rng.choice(list(self.teams))
        members = self.teams[team]
        author = rng.choice(members)
        channel = f"C{TEAM_NAMES.index(team):02d}TEAM{team[:3].upper()}"
        mention = (rng.choice(members),) if rng.random() < 0.3 else ()
        root = self._slack_message(heap, t, author, channel, f"Heads up on {rng.choice(TOPICS)}", mentions=mention)
        at = t
        for _ in range(rng.randint(0, 3)):
            at += self._delay_ms(240, 1.0, 3600)
            replier = rng.choice(members)
            self._slack_message(
                heap, at, replier, channel, f"Here is how {rng.choice(TOPICS)} works", thread_ts=root, parent=author
            )
        for _ in range(rng.randint(0, 2)):
            self._slack_reaction(heap, t + self._delay_ms(120, 1.0, 3600), rng.choice(members), author, channel, root)

    def _cross_team(self, t: int, heap: list[Pending]) -> None:
        rng = self.rng
        broker = rng.choice(self.brokers)
        other = rng.choice([p for p in self.open_workforce if p.team != broker.team])
        channel = "C99ENGALL"
        first, second = (broker, other) if rng.random() < 0.5 else (other, broker)
        root = self._slack_message(heap, t, first, channel, f"Who knows {rng.choice(TOPICS)}?", mentions=(second,))
        self._slack_message(
            heap,
            t + self._delay_ms(600, 1.0, 7200),
            second,
            channel,
            f"I can explain {rng.choice(TOPICS)}",
            thread_ts=root,
            parent=first,
        )
        if rng.random() < 0.5:
            self._gh_review(
                heap,
                t + self._delay_ms(3600, 1.0),
                first,
                second,
                second.team or "platform",
                rng.choice(("approved", "commented", "changes_requested")),
                "Looks good, one nit",
            )

    def _partner_exchange(self, t: int, heap: list[Pending]) -> None:
        rng = self.rng
        broker = rng.choice(self.brokers)
        partner = rng.choice(self.partners)
        if rng.random() < 0.6:
            channel = f"C98EXT{partner.organisation.upper()[:6]}"
            root = self._slack_message(
                heap, t, partner, channel, f"Question about {rng.choice(TOPICS)} integration", mentions=(broker,)
            )
            self._slack_message(
                heap,
                t + self._delay_ms(1800, 1.0),
                broker,
                channel,
                f"Here is the spec for {rng.choice(TOPICS)}",
                thread_ts=root,
                parent=partner,
            )
            if rng.random() < 0.5:
                self._slack_reaction(heap, t + self._delay_ms(3600, 1.0), partner, broker, channel, root)
        else:
            reviewer, author = (partner, broker) if rng.random() < 0.5 else (broker, partner)
            self._gh_review(
                heap,
                t,
                reviewer,
                author,
                broker.team or "platform",
                rng.choice(("approved", "commented", "changes_requested")),
                "Checked against our API",
            )

    def _github_work(self, t: int, heap: list[Pending]) -> None:
        rng = self.rng
        team = rng.choice(list(self.teams))
        members = self.teams[team]
        author = rng.choice(members)
        issue = self._gh_issue(heap, t, author, team, f"Bug in {rng.choice(TOPICS)}", "Steps to reproduce: ...")
        at = t
        for _ in range(rng.randint(0, 2)):
            at += self._delay_ms(1800, 1.0)
            self._gh_comment(
                heap, at, rng.choice(members), issue, team, "I can reproduce; the fix is in the retry path"
            )
        if rng.random() < 0.5 and len(members) > 1:
            reviewer = rng.choice([m for m in members if m is not author])
            self._gh_review(
                heap,
                at + self._delay_ms(3600, 1.0),
                reviewer,
                author,
                team,
                rng.choice(("approved", "commented", "changes_requested")),
                "Reviewed",
            )

    def _conversation(
        self,
        heap: list[Pending],
        platform: str,
        t: int,
        author: Person,
        title: str,
        text: str,
        tag: dict[str, Any],
        reply: tuple[int, Person, str, dict[str, Any]] | None,
    ) -> None:
        """``author`` opens a thread on ``platform`` (a topic, ticket, issue, message, status or post);
        ``reply = (at, responder, text, tag)`` answers it in the thread."""
        rng = self.rng
        if platform == "discourse":
            topic_id = 3000 + self._next_id()
            self._discourse_post(heap, t, author, topic_id, title, text, 1, tag=tag)
            if reply:
                at, who, answer, rtag = reply
                post = self._discourse_post(heap, at, who, topic_id, title, answer, 2, reply_to=(author, 1), tag=rtag)
                if rng.random() < 0.3:
                    self._discourse_like(heap, at + self._delay_ms(900, 1.0), author, who, post, topic_id)
        elif platform == "zendesk":
            ticket = 10_000 + self._next_id()
            self._zendesk(heap, t, "ticket.created", ticket, author, None, text, tag)
            if reply:
                at, who, answer, rtag = reply
                self._zendesk(heap, at, "ticket.comment_added", ticket, author, who, answer, rtag)
        elif platform == "github":
            team = rng.choice([tm for tm in self.teams if tm not in self.silo_teams])
            issue = self._gh_issue(heap, t, author, team, title, text, tag)
            if reply:
                at, who, answer, rtag = reply
                self._gh_comment(heap, at, who, issue, team, answer, rtag)
        elif platform == "slack":
            channel = "C97SHAREDCX" if author.segment == "customer" else f"C98EXT{author.organisation.upper()[:6]}"
            root = self._slack_message(heap, t, author, channel, text, tag=tag)
            if reply:
                at, who, answer, rtag = reply
                self._slack_message(heap, at, who, channel, answer, thread_ts=root, parent=author, tag=rtag)
        elif platform == "mastodon":
            status = self._masto_status(t, author, text)
            self._push(heap, t, Source.mastodon, status, tag=tag)
            if reply:
                at, who, answer, rtag = reply
                answer_status = self._masto_status(at, who, answer, reply_to=status)
                answer_status["mentions"] = [self._masto_mention(author)]
                self._push(heap, at, Source.mastodon, answer_status, tag=rtag)
        else:  # bluesky
            uri = self._bsky(heap, t, author, "app.bsky.feed.post", {"text": text, "langs": ["en"]}, tag=tag)
            if reply:
                at, who, answer, rtag = reply
                ref = {"uri": uri, "cid": "bafyreisynth"}
                self._bsky(
                    heap,
                    at,
                    who,
                    "app.bsky.feed.post",
                    {"text": answer, "langs": ["en"], "reply": {"root": ref, "parent": ref}},
                    tag=rtag,
                )

    def _customer_question(self, t: int, heap: list[Pending]) -> None:
        """A customer asks on one of six platforms; a support-team member answers after a log-normal delay."""
        rng = self.rng
        asker = rng.choice(self.customers)
        agent = rng.choice(self.support)
        platform = rng.choice(QUESTION_PLATFORMS)
        qid = f"q{self._next_id()}"
        topic = rng.choice(TOPICS)
        tag = {"question": qid, "role": "ask", "platform": platform, "asker": asker.person}
        answer = (
            t + self._delay_ms(2 * 3600, 0.9),
            agent,
            f"You set it in the admin panel under {topic}.",
            {"question": qid, "role": "answer", "answerer": agent.person},
        )
        self._conversation(
            heap,
            platform,
            t,
            asker,
            f"How do I configure {topic}?",
            f"How do I configure {topic}? It fails for me.",
            tag,
            answer,
        )

    def _customer_idea(self, t: int, heap: list[Pending]) -> None:
        """A customer (or, on Slack, a partner) proposes an idea; most are picked up by the workforce a day or so later."""
        rng = self.rng
        platform = rng.choice(IDEA_PLATFORMS)
        if platform == "slack":  # partners bring ideas to their shared channel; their broker takes them up
            who, adopter = rng.choice(self.partners), rng.choice(self.brokers)
        else:
            who = rng.choice(self.customers)
            adopter = rng.choice(
                self.support if platform in ("mastodon", "bluesky", "zendesk") else self.open_workforce
            )
        idea = f"i{self._next_id()}"
        feature = rng.choice(TOPICS)
        tag = {"idea": idea, "role": "idea", "platform": platform, "author": who.person}
        delay = self._delay_ms(6 * 3600, 0.8, 7 * 86400)
        pickup = None
        if rng.random() < IDEA_PICKUP_SHARE:
            pickup = (
                t + delay,
                adopter,
                f"Great idea, we are picking this up: scheduling for {feature} is on the roadmap.",
                {"idea": idea, "role": "pickup", "adopter": adopter.person},
            )
        self._conversation(
            heap,
            platform,
            t,
            who,
            f"Idea: what if {feature} could be scheduled",
            f"Feature request: what if {feature} could be scheduled? I suggest a cron option.",
            tag,
            pickup,
        )
        if pickup and platform == "discourse":
            self._gh_issue(
                heap,
                t + delay + 60_000,
                adopter,
                adopter.team or "platform",
                f"Schedule {feature} (community idea)",
                f"Suggested by a customer: {DISCOURSE_URL}/t/{idea}",
            )

    def _influencer_post(self, t: int, heap: list[Pending]) -> None:
        rng = self.rng
        infl = rng.choice(self.influencers)
        cid = f"c{self._next_id()}"
        audience = self.audience[infl.person]
        feature = rng.choice(TOPICS)
        if rng.random() < 0.6:
            root = self._bsky(
                heap,
                t,
                infl,
                "app.bsky.feed.post",
                {"text": f"Tried Acme's {feature} today. Impressive!", "langs": ["en"]},
                tag={
                    "role": "cascade_root",
                    "cascade": cid,
                    "influencer": infl.person,
                    "platform": "bluesky",
                    "root": "",
                },
            )
            self._bsky_cascade(heap, t, cid, infl, root, audience, hop=1)
            for fan in rng.sample(audience, min(len(audience), rng.randint(0, 3))):
                self._bsky(
                    heap,
                    t + self._delay_ms(1800, 1.0),
                    fan,
                    "app.bsky.feed.like",
                    {"subject": {"uri": root, "cid": "bafyreisynth"}},
                )
        else:
            status = self._masto_status(t, infl, f"Acme's {feature} just got better.")
            self._push(
                heap,
                t,
                Source.mastodon,
                status,
                tag={
                    "role": "cascade_root",
                    "cascade": cid,
                    "influencer": infl.person,
                    "platform": "mastodon",
                    "root": status["id"],
                },
            )
            k = min(len(audience), max(1, int(rng.expovariate(1 / max(1.0, 0.25 * len(audience))))))
            for fan in rng.sample(audience, k):
                at = t + self._delay_ms(1200, 1.0, 86400)
                boost = self._masto_status(at, fan, "", reblog=status)
                self._push(
                    heap,
                    at,
                    Source.mastodon,
                    boost,
                    tag={
                        "role": "amplify",
                        "cascade": cid,
                        "actor": fan.person,
                        "via": infl.person,
                        "hop": 1,
                        "kind": "repost",
                        "item": boost["id"],
                    },
                )
            for fan in rng.sample(audience, min(len(audience), rng.randint(0, 3))):
                at = t + self._delay_ms(900, 1.0, 86400)
                note = {
                    "id": str(40_000_000 + self._next_id()),
                    "type": "favourite",
                    "created_at": iso(at),
                    "account": self._masto_account(fan),
                    "status": status,
                }
                self._push(heap, at, Source.mastodon, note)

    def _bsky_cascade(
        self, heap: list[Pending], t: int, cid: str, author: Person, uri: str, audience: list[Person], hop: int
    ) -> None:
        """Amplify ``uri`` (by ``author``) from ``audience``; quotes start the next hop."""
        rng = self.rng
        if hop > CASCADE_HOPS or not audience:
            return
        mean = max(1.0, (0.3 if hop == 1 else 0.12) * len(audience))
        k = min(len(audience), max(1, int(rng.expovariate(1 / mean))))
        for fan in rng.sample(audience, k):
            if fan is author:
                continue
            at = t + self._delay_ms(1200 * hop, 1.0, 86400)
            if hop < CASCADE_HOPS and rng.random() < 0.3:
                q = self._bsky(
                    heap,
                    at,
                    fan,
                    "app.bsky.feed.post",
                    {
                        "text": "This! Worth a read.",
                        "langs": ["en"],
                        "embed": {"$type": "app.bsky.embed.record", "record": {"uri": uri, "cid": "bafyreisynth"}},
                    },
                    tag={
                        "role": "amplify",
                        "cascade": cid,
                        "actor": fan.person,
                        "via": author.person,
                        "hop": hop,
                        "kind": "quote",
                        "item": "",
                    },
                )
                own = [c for c in self.customers if c is not fan]
                followers = rng.sample(own, min(len(own), max(2, int(math.log1p(fan.followers or 1)))))
                self._bsky_cascade(heap, at, cid, fan, q, followers, hop + 1)
            else:
                self._bsky(
                    heap,
                    at,
                    fan,
                    "app.bsky.feed.repost",
                    {"subject": {"uri": uri, "cid": "bafyreisynth"}},
                    tag={
                        "role": "amplify",
                        "cascade": cid,
                        "actor": fan.person,
                        "via": author.person,
                        "hop": hop,
                        "kind": "repost",
                        "item": "",
                    },
                )

    def _fan_action(self, t: int, heap: list[Pending]) -> None:
        rng = self.rng
        fan = rng.choice(self.customers)
        if rng.random() < 0.5:
            team = rng.choice([tm for tm in self.teams if tm not in self.silo_teams])
            self._gh(
                heap, t, "watch", {"action": "started", "repository": self._gh_repo(team), "sender": self._gh_user(fan)}
            )
        else:
            infl = rng.choice(self.influencers)
            self._bsky(heap, t, fan, "app.bsky.graph.follow", {"subject": infl.accounts["bluesky"]})


def _quantile(sorted_values: list[float], q: float) -> float | None:
    """Quantile of an ascending list with linear interpolation (numpy's default; None when empty)."""
    if not sorted_values:
        return None
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def write_dataset(gen: SynthNetwork, out_dir: Path, events: int) -> dict[str, Any]:
    """Write ``events.jsonl`` (raw envelopes, event-time order), ``truth.json`` and ``directory.csv``; return the truth."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "events.jsonl").open("w", encoding="utf-8") as f:
        for env in gen.envelopes(events):
            f.write(env.model_dump_json())
            f.write("\n")
    truth = gen.ground_truth()
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False), encoding="utf-8")
    rows = gen.directory_rows()
    with (out_dir / "directory.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return truth
