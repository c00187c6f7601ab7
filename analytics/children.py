"""Child processes that never outlive their parent (the metric tick's compute process)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Pool initializer: the kernel sends this child SIGKILL when its parent dies (Linux prctl; no-op elsewhere).

    A worker killed with SIGKILL cannot shut its pool down; without this its idle compute process
    would stay behind, holding a window's memory. Use it only for pools whose processes are started
    from a thread that lives as long as the process (the death signal follows the starting thread).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(0)
