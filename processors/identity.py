"""Identity and segments: the resolver from platform accounts to one actor id, a segment, a team and an organisation.

It reads the identity directory (its file format, loading and validation: :mod:`valuenet.processors.directory`).

Segment precedence for an actor: the person's explicit segment; then the e-mail domain
(workforce domains, then partner domains, then customer domains); then influencer (followers or measured reach
at or above the threshold); then a brand follower → customer; else ``unknown``.

:class:`IdentityResolver` checks the files' modification times at most every
``check_interval`` seconds (one ``time.monotonic()`` comparison per call otherwise),
reloads them when they change, re-resolves every actor it has seen, and queues the
actors whose identity changed; :meth:`IdentityResolver.changed_actors` drains that queue
(the processors stage turns it into ``directory`` rows that analytics applies to its graphs). A broken file never crashes the stage: the previous
directory stays in force and :attr:`IdentityResolver.last_error` names the file, row and field.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from valuenet.processors.directory import (
    Directory,
    DirectoryError,
    Person,
    Rules,
    account_key,
    load_directory,
)
from valuenet.schemas.flow import ActorKind, Segment
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["ActorChange", "ActorIdentity", "IdentityResolver"]

PERSON_PREFIX = "person:"


@dataclass(frozen=True, slots=True)
class ActorIdentity:
    """Who an actor id is: canonical ``actor`` id, ``segment``, team, organisation, and the rule that decided."""

    actor: str
    segment: Segment = Segment.unknown
    team: str | None = None
    organisation: str | None = None
    name: str | None = None
    person: str | None = None
    rule: str = "unknown"


@dataclass(frozen=True, slots=True)
class ActorChange:
    """An actor whose identity changed (directory reload, learned follower, reach or followers crossing)."""

    raw_actor: str
    before: ActorIdentity
    after: ActorIdentity


class IdentityResolver:
    """Resolves actor ids to :class:`ActorIdentity`, reloading the directory when its files change.

    Parameters
    ----------
    path:
        Directory file (CSV or YAML); None means no directory (everyone ``unknown`` unless
        ``rules`` say otherwise). Usually ``Settings.directory_path`` (env VALUENET_DIRECTORY_PATH).
    rules:
        Rules used when ``path`` is None (tests, or a directory-less deployment).
    check_interval:
        Seconds between modification-time checks (default 1.0).
    max_tracked:
        Most distinct raw actor ids remembered for re-segmentation (default 1,000,000).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        rules: Rules | None = None,
        check_interval: float = 1.0,
        max_tracked: int = 1_000_000,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.check_interval = check_interval
        self.max_tracked = max_tracked
        self.last_error: str | None = None
        self.generation = 0
        self._dir = Directory(rules=rules or Rules())
        self._mtimes: tuple[float, ...] = ()
        self._next_check = 0.0
        self._followers_learned: set[str] = set()
        self._reach: dict[str, int] = {}
        # raw actor → (inputs, last identity)
        self._tracked: dict[str, tuple[tuple[str | None, int | None, str | None], ActorIdentity]] = {}
        self._changes: list[ActorChange] = []
        self._names: dict[str, str] = {}  # person key → directory name, of the directory ``_names_of``
        self._names_of: Directory | None = None
        self._kinds: dict[str, ActorKind | None] = {}  # raw actor → directory kind, of the directory ``_kinds_of``
        self._kinds_of: Directory | None = None
        if self.path is not None:
            self._dir = load_directory(self.path)  # a broken file at start-up is a configuration error
            self._mtimes = self._stat()
            self.generation = 1
            self._next_check = time.monotonic() + check_interval

    @property
    def directory(self) -> Directory:
        """The directory in force."""
        return self._dir

    def resolve(
        self,
        actor: str,
        *,
        domain: str | None = None,
        followers: int | None = None,
        name: str | None = None,
        email: str | None = None,
    ) -> ActorIdentity:
        """The identity of raw ``actor`` (``<source>:<id>``) now; records it for re-segmentation."""
        if self.path is not None and time.monotonic() >= self._next_check:
            self.maybe_reload()
        prev = self._tracked.get(actor)
        if prev is not None:
            p_domain, p_followers, p_email = prev[0]
            if followers is None or (p_followers is not None and followers <= p_followers):
                followers = p_followers
            domain = domain or p_domain
            email = email or p_email
            inputs = (domain, followers, email)
            if inputs == prev[0]:
                return prev[1]
        else:
            inputs = (domain, followers, email)
        ident = self._compute(actor, domain, followers, name, email)
        if prev is not None and prev[1] != ident:
            self._changes.append(ActorChange(actor, prev[1], ident))
        if prev is not None or len(self._tracked) < self.max_tracked:
            self._tracked[actor] = (inputs, ident)
        return ident

    def resolve_interaction(self, interaction: Interaction) -> tuple[ActorIdentity, ActorIdentity | None]:
        """Identities of the interaction's actor (giver) and target (receiver, None when unknown)."""
        meta = interaction.metadata
        email = meta.get("email") if meta else None
        giver = self.resolve(
            interaction.actor,
            domain=interaction.actor_domain,
            followers=interaction.actor_followers,
            name=interaction.actor_name,
            email=email if isinstance(email, str) else None,
        )
        if interaction.kind is Kind.follow and interaction.target is not None:
            self._learn_follow(interaction.actor, interaction.target)
            giver = self.resolve(interaction.actor)
        receiver = self.resolve(interaction.target) if interaction.target else None
        return giver, receiver

    def resolve_named(
        self, interaction: Interaction
    ) -> tuple[ActorIdentity, ActorIdentity | None, str | None, str | None]:
        """:meth:`resolve_interaction`, then the giver's and the receiver's :meth:`display_name` (None: no receiver)."""
        giver, receiver = self.resolve_interaction(interaction)
        names = self._names_now()
        tracked = self._tracked
        actor = interaction.actor
        known = tracked.get(actor)
        if known is not None:
            person = known[1].person
        else:
            found = self._find(actor, None, None, None)
            person = found.key if found is not None else None
        giver_name = names.get(person) if person is not None else None
        receiver_name = None
        if receiver is not None:
            target = interaction.target
            known = tracked.get(target)  # type: ignore[arg-type]
            if known is not None:
                person = known[1].person
            else:
                found = self._find(target, None, None, None)  # type: ignore[arg-type]
                person = found.key if found is not None else None
            receiver_name = names.get(person) if person is not None else None
        return giver, receiver, giver_name or interaction.actor_name, receiver_name

    def kind_of(self, actor: str) -> ActorKind | None:
        """The kind the directory gives raw ``actor``: its person's ``kind``, then ``rules.account_kinds``, then
        ``organisation`` for a brand account; None when the directory says nothing (the platform decides)."""
        d = self._dir
        if self._kinds_of is not d:
            self._kinds, self._kinds_of = {}, d
        if actor in self._kinds:
            return self._kinds[actor]
        kind: ActorKind | None = None
        person = self._find(actor, None, None, None)
        key = account_key(actor)
        if person is not None and person.kind is not None:
            kind = person.kind
        elif key in d.rules.account_kinds:
            kind = d.rules.account_kinds[key]
        elif key in d.rules.brand_accounts:
            kind = ActorKind.organisation
        if len(self._kinds) >= self.max_tracked:
            self._kinds.clear()
        self._kinds[actor] = kind
        return kind

    def _names_now(self) -> dict[str, str]:
        """Person key → name of the directory in force."""
        d = self._dir
        if self._names_of is not d:
            self._names = {p.key: p.name for p in d.people if p.name}
            self._names_of = d
        return self._names

    def person_name(self, person: str | None) -> str | None:
        """The directory's name of the person with key ``person`` (None: no such person, or unnamed)."""
        if person is None:
            return None
        return self._names_now().get(person)

    def display_name(self, actor: str, platform_name: str | None = None) -> str | None:
        """The name to show for raw ``actor``: its directory person's name when there is one, else ``platform_name``."""
        tracked = self._tracked.get(actor)
        if tracked is not None:
            person = tracked[1].person
        else:
            found = self._find(actor, None, None, None)
            person = found.key if found is not None else None
        return self.person_name(person) or platform_name

    def set_reach(self, actor: str, reach: int) -> None:
        """Record an actor's measured reach (from analytics); may make it an influencer."""
        self._reach[account_key(actor)] = int(reach)
        self._reresolve([actor])

    def changed_actors(self) -> list[ActorChange]:
        """Actors whose identity changed since the last call (drains the queue)."""
        out, self._changes = self._changes, []
        return out

    def maybe_reload_due(self) -> bool:
        """:meth:`maybe_reload` when ``check_interval`` has passed since the last check (cheap otherwise)."""
        if self.path is None or time.monotonic() < self._next_check:
            return False
        return self.maybe_reload()

    def maybe_reload(self) -> bool:
        """Reload the directory if a file's modification time changed; True when it reloaded."""
        self._next_check = time.monotonic() + self.check_interval
        if self.path is None:
            return False
        mtimes = self._stat()
        if mtimes == self._mtimes:
            return False
        return self.reload()

    def reload(self) -> bool:
        """Re-read the directory now and re-resolve every tracked actor; on error keep the old one."""
        if self.path is None:
            return False
        mtimes = self._stat()
        try:
            new = load_directory(self.path)
        except DirectoryError as e:
            self.last_error = str(e)
            self._mtimes = mtimes  # do not retry a broken file until it changes again
            return False
        self.last_error = None
        self._dir = new
        self._mtimes = mtimes
        self.generation += 1
        self._reresolve(list(self._tracked))
        return True

    def identities(self) -> Iterable[tuple[str, ActorIdentity]]:
        """Every tracked raw actor id with its current identity (for the directory table)."""
        for actor, (_, ident) in self._tracked.items():
            yield actor, ident

    # -- internals ---------------------------------------------------------------------------

    def _stat(self) -> tuple[float, ...]:
        files = self._dir.files or ((self.path,) if self.path else ())
        out = []
        for f in files:
            try:
                out.append(f.stat().st_mtime_ns)
            except OSError:
                out.append(-1)
        if self.path is not None and self.path.suffix.lower() == ".csv":
            rules = self.path.with_name(self.path.stem + ".rules.yaml")
            if rules not in files:
                out.append(rules.stat().st_mtime_ns if rules.is_file() else -1)
        return tuple(out)

    def _reresolve(self, actors: Iterable[str]) -> None:
        for actor in actors:
            prev = self._tracked.get(actor)
            if prev is None:
                continue
            domain, followers, email = prev[0]
            ident = self._compute(actor, domain, followers, prev[1].name, email)
            if ident != prev[1]:
                self._changes.append(ActorChange(actor, prev[1], ident))
                self._tracked[actor] = (prev[0], ident)

    def _learn_follow(self, actor: str, target: str) -> None:
        rules = self._dir.rules
        if rules.brand_accounts and account_key(target) in rules.brand_accounts:
            key = account_key(actor)
            if key not in self._followers_learned:
                self._followers_learned.add(key)
                self._reresolve([actor])

    def _find(self, actor: str, domain: str | None, name: str | None, email: str | None) -> Person | None:
        d = self._dir
        key = account_key(actor)
        person = d.by_account.get(key)
        if person is not None:
            return person
        if email:
            person = d.by_email.get(email.lower())
            if person is not None:
                return person
        if domain and key.startswith("git:"):
            person = d.by_name_domain.get((key[4:], domain.lower()))
        return person

    def _compute(
        self, actor: str, domain: str | None, followers: int | None, name: str | None, email: str | None
    ) -> ActorIdentity:
        person = self._find(actor, domain, name, email)
        rules = self._dir.rules
        if person is not None:
            canonical = PERSON_PREFIX + person.key
            display = person.name or name
            keys = [account_key(a) for a in person.accounts] or [account_key(actor)]
            domains = tuple(dict.fromkeys(((domain.lower(),) if domain else ()) + person.domains))
            if person.segment is not None:
                return ActorIdentity(
                    canonical, person.segment, person.team, person.organisation, display, person.key, "directory"
                )
        else:
            canonical, display = actor, name
            keys = [account_key(actor)]
            domains = (domain.lower(),) if domain else ()
        team = person.team if person else None
        org = person.organisation if person else None
        pkey = person.key if person else None
        for dom in domains:
            if dom in rules.workforce_domains:
                return ActorIdentity(
                    canonical,
                    Segment.workforce,
                    team,
                    org or rules.workforce_domains[dom],
                    display,
                    pkey,
                    f"domain:{dom}",
                )
        for dom in domains:
            if dom in rules.partner_domains:
                return ActorIdentity(
                    canonical, Segment.partner, team, org or rules.partner_domains[dom], display, pkey, f"domain:{dom}"
                )
        for dom in domains:
            if dom in rules.customer_domains:
                return ActorIdentity(
                    canonical,
                    Segment.customer,
                    team,
                    org or rules.customer_domains[dom],
                    display,
                    pkey,
                    f"domain:{dom}",
                )
        if rules.influencer_followers is not None and followers is not None and followers >= rules.influencer_followers:
            return ActorIdentity(
                canonical, Segment.influencer, team, org, display, pkey, f"followers>={rules.influencer_followers}"
            )
        if rules.influencer_reach is not None:
            reach = max((self._reach.get(k, -1) for k in keys), default=-1)
            if reach >= rules.influencer_reach:
                return ActorIdentity(
                    canonical, Segment.influencer, team, org, display, pkey, f"reach>={rules.influencer_reach}"
                )
        for k in keys:
            if k in rules.brand_followers or k in self._followers_learned:
                return ActorIdentity(canonical, Segment.customer, team, org, display, pkey, "brand-follower")
        return ActorIdentity(
            canonical, Segment.unknown, team, org, display, pkey, "directory-no-segment" if person else "unknown"
        )


# -- the files' entries as pydantic models --------------------------------------------------------
