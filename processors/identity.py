"""Identity and segments: platform accounts → one actor id, a segment, a team and an organisation.

The **directory** is a CSV or YAML file naming people and their accounts::

    # directory.yaml
    rules:
      workforce_domains: {acme.com: Acme}        # e-mail domain → organisation (a list is fine too)
      partner_domains: {globex.com: Globex}
      customer_domains: [gmail.com]               # e.g. a community of users with personal addresses
      brand_accounts: ["mastodon:@acme@acme.social", "github:acme"]
      brand_followers: ["mastodon:@fan@x.social"] # accounts following the brand → customer
      brand_followers_file: followers.txt         # one account a line, relative to this file
      influencer_followers: 10000                 # followers ≥ this → influencer
      influencer_reach: 500                       # measured reach ≥ this → influencer
    people:
      - person: alice
        name: Alice Example
        accounts: "slack:U123;github:octocat;mastodon:@alice@x.social;git:Alice Example"
        emails: "alice@acme.com"
        team: platform
        organisation: Acme
        segment: workforce                         # optional: rules decide when absent
        kind: person                               # optional: person | organisation | bot | platform

Rules may also name ``account_kinds: {"github:acme": organisation, "slack:B0123": bot}``; brand
accounts are organisations unless the directory says otherwise (``docs/actor-kinds.md``).

A CSV directory has the columns ``person,name,accounts,emails,team,organisation,segment``
(accounts and e-mails ``;``-separated); its rules live beside it in ``<stem>.rules.yaml``.

Account keys follow the parsers' actor ids ``<source>:<account key>`` and match
case-insensitively, with a leading ``@`` of the handle ignored. The forms, one per platform
(``tests/test_identity_keys.py`` checks each against its parser): ``slack:U123``,
``github:octocat``, ``discourse:username``, ``mastodon:@user@instance`` (also without the
first ``@``), ``bluesky:did:plc:…``, ``reddit:username``, ``x:<user id>``, ``teams:<Entra
object id>``, ``jira:<accountId>`` (Jira Server: ``jira:<username>``),
``confluence:<accountId>``, ``zendesk:<user id>``, ``git:<Name>`` (compared as the git parser
normalises names: NFC, quotes dropped, whitespace collapsed, case-folded). An interaction's
``metadata["email"]`` (git, Jira) matches a person's ``emails``; a git actor also matches a
person with the same name and an e-mail in the interaction's ``actor_domain``.

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

import csv
import os
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from valuenet.schemas.flow import ActorKind, Segment
from valuenet.schemas.interaction import Interaction, Kind

__all__ = [
    "ActorChange",
    "ActorIdentity",
    "Directory",
    "DirectoryError",
    "IdentityResolver",
    "Person",
    "Rules",
    "account_key",
    "load_directory",
    "person_name_key",
]

PERSON_PREFIX = "person:"
_CSV_COLUMNS = ("person", "name", "accounts", "emails", "team", "organisation", "segment")


class DirectoryError(ValueError):
    """The directory or its rules file is malformed; the message names the file, row and field."""


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


@dataclass(frozen=True, slots=True)
class Person:
    """One directory entry."""

    key: str
    name: str | None = None
    accounts: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    team: str | None = None
    organisation: str | None = None
    segment: Segment | None = None
    kind: ActorKind | None = None  # explicit actor kind (docs/actor-kinds.md); None: the platform decides

    @property
    def domains(self) -> tuple[str, ...]:
        """E-mail domains of this person, lower-case."""
        return tuple(e.rpartition("@")[2].lower() for e in self.emails if "@" in e)


@dataclass(frozen=True, slots=True)
class Rules:
    """Segment rules: e-mail domains, the brand's accounts and followers, influencer thresholds."""

    workforce_domains: Mapping[str, str | None] = field(default_factory=dict)
    partner_domains: Mapping[str, str | None] = field(default_factory=dict)
    customer_domains: Mapping[str, str | None] = field(default_factory=dict)
    brand_accounts: frozenset[str] = frozenset()
    brand_followers: frozenset[str] = frozenset()
    influencer_followers: int | None = 10_000
    influencer_reach: int | None = None
    account_kinds: Mapping[str, ActorKind] = field(default_factory=dict)  # account key → explicit kind


@dataclass(frozen=True, slots=True)
class Directory:
    """A loaded directory: people indexed by account key, e-mail and (name, domain); plus rules."""

    people: tuple[Person, ...] = ()
    rules: Rules = field(default_factory=Rules)
    by_account: Mapping[str, Person] = field(default_factory=dict)
    by_email: Mapping[str, Person] = field(default_factory=dict)
    by_name_domain: Mapping[tuple[str, str], Person] = field(default_factory=dict)
    files: tuple[Path, ...] = ()


def account_key(actor: str) -> str:
    """Normalised account key: ``source:handle`` case-folded, a leading ``@`` of the handle dropped; a git
    name also as the git parser writes it (Unicode NFC, quotes removed, whitespace collapsed)."""
    src, sep, handle = actor.partition(":")
    if not sep:
        return actor.strip().lower()
    src = src.strip().lower()
    if src == "git":
        return "git:" + person_name_key(handle)
    return f"{src}:{handle.strip().lstrip('@').lower()}"


def person_name_key(name: str) -> str:
    """A person's name as git actor ids spell it: NFC, no quotes, single spaces, case-folded."""
    name = unicodedata.normalize("NFC", name).translate(_QUOTES)
    return " ".join(name.split()).casefold()


_QUOTES = str.maketrans("", "", '"\u201c\u201d\u201e\u00ab\u00bb')


def load_directory(path: str | os.PathLike[str]) -> Directory:
    """Read a CSV or YAML directory (and a CSV's ``<stem>.rules.yaml``); DirectoryError names what is wrong."""
    p = Path(path)
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            if not isinstance(doc, dict):
                raise DirectoryError(f"{p}: expected a mapping with 'people' and 'rules'")
            people_raw = doc.get("people") or []
            if not isinstance(people_raw, list):
                raise DirectoryError(f"{p}: field 'people': expected a list")
            rules_raw = doc.get("rules") or {}
            rules_file: Path | None = None
        elif p.suffix.lower() == ".csv":
            with p.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                missing = [c for c in ("person", "accounts") if c not in (reader.fieldnames or [])]
                if missing:
                    raise DirectoryError(
                        f"{p}: missing column(s) {', '.join(missing)} (expected {','.join(_CSV_COLUMNS)})"
                    )
                people_raw = list(reader)
            rules_file = p.with_name(p.stem + ".rules.yaml")
            rules_raw = {}
            if rules_file.is_file():
                rules_raw = yaml.safe_load(rules_file.read_text(encoding="utf-8")) or {}
                rules_raw = rules_raw.get("rules", rules_raw) if isinstance(rules_raw, dict) else rules_raw
        else:
            raise DirectoryError(f"{p}: unsupported directory format (use .csv, .yaml or .yml)")
    except (OSError, yaml.YAMLError, csv.Error, UnicodeDecodeError) as e:
        raise DirectoryError(f"{p}: cannot read: {e}") from e
    files = [p]
    if rules_file is not None and rules_file.is_file():
        files.append(rules_file)
    rules, extra_files = _rules(rules_raw, rules_file or p)
    files.extend(extra_files)
    people = tuple(_person(row, p, i) for i, row in enumerate(people_raw, start=1))
    by_account: dict[str, Person] = {}
    by_email: dict[str, Person] = {}
    by_name_domain: dict[tuple[str, str], Person] = {}
    for person in people:
        for acc in person.accounts:
            key = account_key(acc)
            other = by_account.get(key)
            if other is not None and other.key != person.key:
                raise DirectoryError(f"{p}: person {person.key!r}: account {acc!r} already belongs to {other.key!r}")
            by_account[key] = person
        for email in person.emails:
            by_email[email.lower()] = person
        if person.name:
            for dom in person.domains:
                by_name_domain[(person_name_key(person.name), dom)] = person
    return Directory(people, rules, by_account, by_email, by_name_domain, tuple(files))


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


def _split(value: Any) -> tuple[str, ...]:
    """A ``;``- (or ``,``-) separated string, a list of strings or a ``{platform: id}`` mapping as a tuple."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(s.strip() for s in value.replace(",", ";").split(";") if s.strip())
    if isinstance(value, list):
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise ValueError(f"expected strings, got {type(bad[0]).__name__}")
        return tuple(v.strip() for v in value if v.strip())
    if isinstance(value, dict):  # {slack: U123, github: octocat}
        return tuple(f"{k}:{v}" for k, v in value.items() if v)
    raise ValueError(f"expected a ';'-separated string or a list, got {type(value).__name__}")


def _text(value: Any) -> str | None:
    """An optional text cell: empty → None; numbers (YAML ids) as text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return str(value).strip() or None


def _domains(value: Any) -> dict[str, str | None]:
    """``{domain: organisation}`` from a mapping, or domains without organisation from a list / string."""
    if isinstance(value, dict):
        return {str(k).lower(): (str(v) if v is not None else None) for k, v in value.items()}
    return {d.lower(): None for d in _split(value)}


class PersonEntry(BaseModel):
    """One ``people`` entry as written (YAML keys or CSV columns); unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    person: str
    name: str | None = None
    accounts: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    team: str | None = None
    organisation: str | None = Field(default=None, validation_alias=AliasChoices("organisation", "organization"))
    segment: Segment | None = None
    kind: ActorKind | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> ActorKind | None:
        return _actor_kind(value)

    @field_validator("person", "name", "team", "organisation", mode="before")
    @classmethod
    def _optional_text(cls, value: Any) -> str | None:
        return _text(value)

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts(cls, value: Any) -> tuple[str, ...]:
        accounts = _split(value)
        bad = [a for a in accounts if ":" not in a]
        if bad:
            raise ValueError(f"{bad[0]!r} is not '<platform>:<id>'")
        return accounts

    @field_validator("emails", mode="before")
    @classmethod
    def _emails(cls, value: Any) -> tuple[str, ...]:
        emails = _split(value)
        bad = [e for e in emails if "@" not in e]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an e-mail address")
        return emails

    @field_validator("segment", mode="before")
    @classmethod
    def _segment(cls, value: Any) -> Segment | None:
        text = _text(value)
        if text is None:
            return None
        try:
            return Segment(text.lower())
        except ValueError:
            raise ValueError(f"{text!r} is not one of {', '.join(s.value for s in Segment)}") from None


def _actor_kind(value: Any) -> ActorKind | None:
    """An explicit actor kind cell: empty → None; ``organization`` spelled either way."""
    text = _text(value)
    if text is None:
        return None
    text = text.lower().replace("organization", "organisation")
    try:
        return ActorKind(text)
    except ValueError:
        raise ValueError(f"{text!r} is not one of {', '.join(k.value for k in ActorKind)}") from None


_Threshold = Annotated[int, Field(ge=0, strict=True)]


class RulesEntry(BaseModel):
    """The ``rules`` mapping as written; unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    workforce_domains: dict[str, str | None] = {}
    partner_domains: dict[str, str | None] = {}
    customer_domains: dict[str, str | None] = {}
    brand_accounts: tuple[str, ...] = ()
    brand_followers: tuple[str, ...] = ()
    brand_followers_file: str | None = None
    influencer_followers: _Threshold | None = 10_000
    influencer_reach: _Threshold | None = None
    account_kinds: dict[str, ActorKind] = {}

    @field_validator("account_kinds", mode="before")
    @classmethod
    def _account_kinds(cls, value: Any) -> dict[str, ActorKind]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping of account to kind, got {type(value).__name__}")
        out: dict[str, ActorKind] = {}
        for account, kind in value.items():
            parsed = _actor_kind(kind)
            if parsed is not None:
                out[str(account)] = parsed
        return out

    @field_validator("workforce_domains", "partner_domains", "customer_domains", mode="before")
    @classmethod
    def _domain_map(cls, value: Any) -> dict[str, str | None]:
        return _domains(value)

    @field_validator("brand_accounts", "brand_followers", mode="before")
    @classmethod
    def _accounts(cls, value: Any) -> tuple[str, ...]:
        return _split(value)

    @field_validator("brand_followers_file", mode="before")
    @classmethod
    def _file(cls, value: Any) -> str | None:
        return _text(value)


def _validation_error(where: str, e: ValidationError, prefix: str = "field") -> DirectoryError:
    """The first validation error as ``<where>: <prefix> '<field>': <reason>``."""
    err = e.errors()[0]
    reason = "missing" if err["type"] == "missing" else str(err["msg"]).removeprefix("Value error, ")
    if not err["loc"]:
        return DirectoryError(f"{where}: {reason}")
    return DirectoryError(f"{where}: {prefix} '{err['loc'][0]}': {reason}")


def _person(row: Any, path: Path, i: int) -> Person:
    where = f"{path}: row {i}"
    if not isinstance(row, Mapping):
        raise DirectoryError(f"{where}: expected a mapping, got {type(row).__name__}")
    try:
        entry = PersonEntry.model_validate(row)
    except ValidationError as e:
        raise _validation_error(where, e) from None
    return Person(
        key=entry.person,
        name=entry.name,
        accounts=entry.accounts,
        emails=entry.emails,
        team=entry.team,
        organisation=entry.organisation,
        segment=entry.segment,
        kind=entry.kind,
    )


def _rules(raw: Any, path: Path) -> tuple[Rules, list[Path]]:
    where = str(path)
    if not isinstance(raw, Mapping):
        raise DirectoryError(f"{where}: field 'rules': expected a mapping")
    try:
        entry = RulesEntry.model_validate(raw)
    except ValidationError as e:
        raise _validation_error(where, e, "rules field") from None
    followers = {account_key(a) for a in entry.brand_followers}
    extra: list[Path] = []
    if entry.brand_followers_file:
        fp = (path.parent / entry.brand_followers_file).resolve()
        try:
            lines = fp.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise DirectoryError(f"{where}: rules field 'brand_followers_file': cannot read {fp}: {e}") from e
        followers.update(account_key(s) for s in (ln.strip() for ln in lines) if s and not s.startswith("#"))
        extra.append(fp)
    rules = Rules(
        workforce_domains=entry.workforce_domains,
        partner_domains=entry.partner_domains,
        customer_domains=entry.customer_domains,
        brand_accounts=frozenset(account_key(a) for a in entry.brand_accounts),
        brand_followers=frozenset(followers),
        influencer_followers=entry.influencer_followers,
        influencer_reach=entry.influencer_reach,
        account_kinds={account_key(a): k for a, k in entry.account_kinds.items()},
    )
    return rules, extra
