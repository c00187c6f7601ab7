"""paused_gc pauses the cyclic GC for a block and leaves it as it found it, even when the block raises."""

from __future__ import annotations

import gc

import pytest

from valuenet.schemas.gcpause import paused_gc


def test_paused_inside_restored_after_even_on_error() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), paused_gc():
        raise ValueError("boom")
    assert gc.isenabled()


def test_leaves_a_disabled_collector_disabled_and_can_be_skipped() -> None:
    with paused_gc(pause=False):
        assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: not switched on behind the caller's back
    finally:
        gc.enable()
