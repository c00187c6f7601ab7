"""Outcome tracking for responsiveness and idea pickup: threads and their question / idea rows.

A thread (``thread`` ∨ ``parent_id`` ∨ ``event_id``) keeps its sorted workforce answer times;
each question (or customer/partner idea) opened in it is a row of start time and delay to the
first answer at or after it (NaN while unanswered), kept current per event so a tick copies the
rows with numpy instead of walking every open thread.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence

import numpy as np

__all__ = ["NAN", "NEW_THREAD", "OutcomeRows", "Thread", "first_delay"]

NAN = float("nan")


Thread = tuple[int, tuple[float, ...], tuple[int, ...], float]
"""A thread's state: its question's row (-1: none), its sorted workforce answer times, its ideas' rows and
its last event time (epoch seconds). A plain tuple of numbers: the cyclic garbage collector stops tracking
it, so millions of threads cost a full collection nothing."""

NEW_THREAD: Thread = (-1, (), (), float("-inf"))


def first_delay(answers: Sequence[float], t0: float) -> float:
    """Time from ``t0`` to the first answer at or after it (NaN: none yet)."""
    i = bisect.bisect_left(answers, t0)
    return answers[i] - t0 if i < len(answers) else NAN


class OutcomeRows:
    """Questions (or ideas) as rows of start time and first-answer delay, kept current per event.

    A snapshot copies the live rows with numpy instead of walking every open thread; rows of
    expired threads are marked dead and compacted away once they are the majority.
    """

    __slots__ = ("start", "delay", "alive", "dead")

    def __init__(self) -> None:
        self.start, self.delay, self.alive, self.dead = array("d"), array("d"), array("b"), 0

    def add(self, t0: float, answers: Sequence[float]) -> int:
        """A new row starting at ``t0``; returns its index."""
        self.start.append(t0)
        self.delay.append(first_delay(answers, t0))
        self.alive.append(1)
        return len(self.start) - 1

    def restart(self, row: int, t0: float, answers: Sequence[float]) -> None:
        """Row ``row`` now starts at ``t0`` (an earlier opener of its thread arrived)."""
        self.start[row] = t0
        self.delay[row] = first_delay(answers, t0)

    def answered(self, row: int, at: float) -> None:
        """An answer at ``at`` arrived in the row's thread: keep the first one at or after the start."""
        d = at - self.start[row]
        if d >= 0 and not (self.delay[row] <= d):  # NaN (no answer yet) compares False
            self.delay[row] = d

    def drop(self, row: int) -> None:
        """The row's thread expired."""
        if self.alive[row]:
            self.alive[row] = 0
            self.dead += 1

    def rows(self) -> np.ndarray:
        """``(n, 2)`` array of live rows: start, delay."""
        alive = np.frombuffer(self.alive, dtype=np.int8).astype(bool) if len(self.alive) else np.zeros(0, bool)
        out = np.empty((int(alive.sum()), 2))
        if len(out):
            out[:, 0] = np.frombuffer(self.start, dtype=np.float64)[alive]
            out[:, 1] = np.frombuffer(self.delay, dtype=np.float64)[alive]
        return out

    def compact(self) -> np.ndarray | None:
        """Drop dead rows when they are the majority; returns old row → new row (-1 dead), or None."""
        if self.dead < 4096 or 2 * self.dead < len(self.alive):
            return None
        alive = np.frombuffer(self.alive, dtype=np.int8).astype(bool)
        mapping = np.full(len(alive), -1, dtype=np.int64)
        mapping[alive] = np.arange(int(alive.sum()))
        self.start = array("d", np.frombuffer(self.start, dtype=np.float64)[alive].tobytes())
        self.delay = array("d", np.frombuffer(self.delay, dtype=np.float64)[alive].tobytes())
        self.alive = array("b", bytes([1]) * len(self.start))
        self.dead = 0
        return mapping
