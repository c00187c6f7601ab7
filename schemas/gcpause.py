"""One context manager for the hot paths that pause Python's cyclic garbage collector around a batch."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc(pause: bool = True) -> Iterator[None]:
    """Pause the cyclic GC for the block (when ``pause`` and it is on) and restore it after, even on error.

    For batches that allocate many short-lived containers and create no reference cycles:
    reference counting frees them, and the collector's passes over the whole heap — which a
    batch would otherwise trigger every 700 allocations — run after the batch instead.
    """
    paused = pause and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
