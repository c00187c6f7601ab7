"""Store write health: why writes are blocked (disk full, read-only, too many parts, …) and since when.

A write the store cannot take *now* — for the store's sake, not the row's — blocks its lane:
the sink retries it with backoff and the batch's offsets stay uncommitted. :func:`blocked_reason`
names the cause of such an error (``None``: the row is at fault and is dead-lettered instead);
:class:`StoreHealth` keeps the state of this process's writes, logs each change of state at
ERROR (blocked) or WARNING (resumed) with a reminder every :data:`REMIND_S` seconds while blocked,
and is read by ``/healthz`` and ``/metrics`` (``valuenet_store_blocked{reason}``).
"""

from __future__ import annotations

import errno
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from valuenet.analytics.storage.exceptions import RowError, StoreLockedError, UnknownTableError

__all__ = ["REASONS", "REMIND_S", "StoreHealth", "blocked_reason", "store_health"]

log = logging.getLogger("valuenet.storage.health")

#: Every reason a store write can be blocked for (the label values of ``valuenet_store_blocked``).
REASONS = ("no_space", "read_only", "too_many_parts", "memory", "unavailable", "schema", "locked")
#: Seconds between two ERROR reminders while writes stay blocked.
REMIND_S = 60.0

#: ClickHouse error codes → reason. Codes are stable across versions (ErrorCodes.cpp); chdb names the
#: error in its message too ("... (NOT_ENOUGH_SPACE)"), clickhouse-driver sets ``code``.
SERVER_CODES: dict[int, str] = {
    243: "no_space",  # NOT_ENOUGH_SPACE: a part's disk reservation failed
    242: "read_only",  # TABLE_IS_READ_ONLY (replica without keeper, or a read-only disk)
    164: "read_only",  # READONLY (the user's profile is readonly)
    252: "too_many_parts",  # TOO_MANY_PARTS: merges fall behind the inserts
    241: "memory",  # MEMORY_LIMIT_EXCEEDED
    173: "memory",  # CANNOT_ALLOCATE_MEMORY
    75: "no_space",  # CANNOT_WRITE_TO_FILE_DESCRIPTOR (ENOSPC while writing a part)
    3: "unavailable",  # UNEXPECTED_END_OF_FILE
    32: "unavailable",  # ATTEMPT_TO_READ_AFTER_EOF (a connection cut mid-answer)
    159: "unavailable",  # TIMEOUT_EXCEEDED
    202: "unavailable",  # TOO_MANY_SIMULTANEOUS_QUERIES
    209: "unavailable",  # SOCKET_TIMEOUT
    210: "unavailable",  # NETWORK_ERROR
    285: "unavailable",  # TOO_FEW_LIVE_REPLICAS
    319: "unavailable",  # UNKNOWN_STATUS_OF_INSERT
    394: "unavailable",  # QUERY_WAS_CANCELLED (server shutting down)
    425: "unavailable",  # SYSTEM_ERROR
    999: "unavailable",  # KEEPER_EXCEPTION
    # a schema or access the data cannot fix: a deploy or migration is under way, every row would be
    # refused alike, so the batch waits instead of being dead-lettered row by row
    8: "schema",  # THERE_IS_NO_COLUMN
    10: "schema",  # NOT_FOUND_COLUMN_IN_BLOCK
    16: "schema",  # NO_SUCH_COLUMN_IN_TABLE
    47: "schema",  # UNKNOWN_IDENTIFIER
    60: "schema",  # UNKNOWN_TABLE
    81: "schema",  # UNKNOWN_DATABASE
    192: "schema",  # UNKNOWN_USER
    497: "schema",  # ACCESS_DENIED
    516: "schema",  # AUTHENTICATION_FAILED
}
#: Error names chdb's streaming INSERT swallows (it reports success and writes nothing); ChdbStore reads
#: their counters in ``system.errors`` after each insert. Each name maps to its reason.
SWALLOWED_NAMES: dict[str, str] = {
    "NOT_ENOUGH_SPACE": "no_space",
    "CANNOT_WRITE_TO_FILE_DESCRIPTOR": "no_space",
    "CANNOT_FSYNC": "no_space",
    "CANNOT_TRUNCATE_FILE": "no_space",
    "CANNOT_OPEN_FILE": "no_space",
    "CANNOT_CREATE_DIRECTORY": "no_space",
    "TABLE_IS_READ_ONLY": "read_only",
    "READONLY": "read_only",
    "TOO_MANY_PARTS": "too_many_parts",
    "MEMORY_LIMIT_EXCEEDED": "memory",
    "CANNOT_ALLOCATE_MEMORY": "memory",
    "SYSTEM_ERROR": "unavailable",
    "VIOLATED_CONSTRAINT": "",  # a row's fault: raised so the sink isolates and dead-letters it
}
#: What an OS error says in a message (errno text as strerror spells it) → reason.
_MESSAGES = (
    (re.compile(r"No space left on device|Disk quota exceeded|ENOSPC|EDQUOT|not enough space", re.I), "no_space"),
    (re.compile(r"Read-only file system|EROFS|is in readonly mode|TABLE_IS_READ_ONLY", re.I), "read_only"),
    (re.compile(r"Too many parts|TOO_MANY_PARTS", re.I), "too_many_parts"),
    (re.compile(r"MEMORY_LIMIT_EXCEEDED|Memory limit .* exceeded|Cannot allocate memory", re.I), "memory"),
)
_ERRNOS = {
    errno.ENOSPC: "no_space",
    errno.EDQUOT: "no_space",
    errno.EROFS: "read_only",
    errno.ENOMEM: "memory",
}
_CODE = re.compile(r"\bCode: (\d+)")


def error_code(e: BaseException) -> int | None:
    """The ClickHouse error code of ``e`` (clickhouse-driver's ``code``, or ``Code: N`` in chdb's message)."""
    code = getattr(e, "code", None)
    if isinstance(code, int):
        return code
    m = _CODE.search(str(e)[:2000])
    return int(m.group(1)) if m else None


def _one_reason(e: BaseException) -> str | None:
    """The reason ``e`` itself gives (not its chain), or None."""
    from clickhouse_driver import errors as ch

    marked = getattr(e, "store_reason", None)  # chdb's swallowed errors (SwallowedInsertError)
    if isinstance(marked, str):
        return marked or None
    if isinstance(e, StoreLockedError):
        return "locked"
    if isinstance(e, UnknownTableError):
        return "schema"
    if isinstance(e, OSError) and e.errno in _ERRNOS:
        return _ERRNOS[e.errno]
    if isinstance(e, (ConnectionError, TimeoutError, EOFError)):
        return "unavailable"
    if isinstance(e, (ch.NetworkError, ch.SocketTimeoutError, ch.UnexpectedPacketFromServerError)):
        return "unavailable"
    code = error_code(e)
    if code in SERVER_CODES:
        return SERVER_CODES[code]
    text = str(e)[:4000]
    for pattern, reason in _MESSAGES:
        if pattern.search(text):
            return reason
    return None


def blocked_reason(exc: BaseException) -> str | None:
    """Why ``exc`` (or an error it chains) means the store cannot take writes now (one of :data:`REASONS`);
    None when a row is at fault (the sink dead-letters it)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, RowError):
            return None
        reason = _one_reason(e)
        if reason:
            return reason
        e = e.__cause__ or e.__context__
    return None


@dataclass
class _Blocked:
    """One blocked state: why, since when, which tables wait."""

    reason: str
    message: str
    since: float  # wall clock (epoch seconds)
    since_mono: float
    tables: set[str] = field(default_factory=set)
    retries: int = 0
    reminded: float = 0.0


class StoreHealth:
    """This process's store-write state: ok, or blocked (reason, cause, tables waiting, since when)."""

    def __init__(self, clock: Any = time.monotonic, remind_s: float = REMIND_S) -> None:
        self._clock = clock
        self.remind_s = remind_s
        self._lock = threading.Lock()
        self._blocked: _Blocked | None = None
        self.retries_total = 0
        self.blocked_total = 0  # times writes went from ok to blocked

    def failed(self, table: str, exc: BaseException, reason: str, retry_in: float) -> None:
        """A write to ``table`` failed for ``reason`` and waits ``retry_in`` s: log a change of state (or a reminder)."""
        message = _short(_root(exc))
        now = self._clock()
        with self._lock:
            self.retries_total += 1
            state = self._blocked
            if state is None or state.reason != reason:
                changed = state is None
                self._blocked = state = _Blocked(reason, message, time.time(), now, {table}, 1, now)
                if changed:
                    self.blocked_total += 1
                say = "blocked"
            else:
                state.tables.add(table)
                state.retries += 1
                state.message = message
                if now - state.reminded < self.remind_s:
                    log.info("store write to %s waits (%s); retry in %.1fs", table, reason, retry_in)
                    return
                state.reminded = now
                say = "still blocked"
            waited = now - state.since_mono
            tables = ", ".join(sorted(state.tables))
        log.error(
            "store writes %s (%s%s): writing %s failed: %s. The waiting batches' offsets are not committed "
            "(nothing is lost); their partitions are paused and the write is retried with backoff (next in %.1f s). %s",
            say,
            reason,
            f", for {waited:.0f} s" if say != "blocked" else "",
            tables,
            message,
            retry_in,
            ADVICE.get(reason, ""),
        )

    def succeeded(self, table: str) -> None:
        """A write to ``table`` went through: when it was the last blocked table, log that writes resumed."""
        with self._lock:
            state = self._blocked
            if state is None or table not in state.tables:
                return
            state.tables.discard(table)
            if state.tables:
                return
            self._blocked = None
            waited = self._clock() - state.since_mono
        log.warning(
            "store writes resumed after %.0f s blocked (%s, %d retries); the waiting batches are stored and "
            "their offsets commit now",
            waited,
            state.reason,
            state.retries,
        )

    def status(self) -> dict[str, Any] | None:
        """``{"reason", "message", "tables", "since", "seconds", "retries"}`` while blocked, else None."""
        with self._lock:
            state = self._blocked
            if state is None:
                return None
            return {
                "reason": state.reason,
                "message": state.message,
                "tables": sorted(state.tables),
                "since": state.since,
                "seconds": round(self._clock() - state.since_mono, 1),
                "retries": state.retries,
            }


#: What an operator can do, by reason (appended to the ERROR line).
ADVICE = {
    "no_space": "Free space on the store's disk (chdb: VALUENET_CHDB_PATH); writing resumes by itself.",
    "read_only": "The store or its disk is read-only; make it writable again and writing resumes.",
    "too_many_parts": "Merges fall behind the inserts; writing resumes once they catch up.",
    "memory": "The store ran out of memory; writing resumes when it has some.",
    "unavailable": "The store does not answer (restart, network); writing resumes when it does.",
    "schema": "The store's schema or access does not match (a migration under way?).",
    "locked": "Another process holds the chdb directory.",
}


def _root(exc: BaseException) -> BaseException:
    """The first error of ``exc``'s chain of causes (the driver's own words)."""
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def _short(exc: BaseException) -> str:
    """``Type: message`` of an error, first line, at most 300 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]


_health = StoreHealth()


def store_health() -> StoreHealth:
    """The process-wide :class:`StoreHealth` (the sink writes it, ``/healthz`` and ``/metrics`` read it)."""
    return _health
