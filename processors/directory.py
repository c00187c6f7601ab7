"""The identity directory's file format: loading and validating the CSV or YAML file of people and rules.

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

The resolver that applies a directory to actor ids is :mod:`valuenet.processors.identity`.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from valuenet.schemas.flow import ActorKind, Segment

__all__ = [
    "Directory",
    "DirectoryError",
    "Person",
    "Rules",
    "account_key",
    "load_directory",
    "person_name_key",
]

_CSV_COLUMNS = ("person", "name", "accounts", "emails", "team", "organisation", "segment")


class DirectoryError(ValueError):
    """The directory or its rules file is malformed; the message names the file, row and field."""


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
