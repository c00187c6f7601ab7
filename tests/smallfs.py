"""A small real filesystem a test can fill up: tmpfs (or a loop-mounted ext4 image) mounted by the test itself.

>>> with small_filesystem(tmp_path / "fs", mib=64) as fs:
...     fs.fill()   # the disk is full: writes fail with ENOSPC
...     fs.free()   # space again

Mounting needs root (CI runs as root). Where neither tmpfs nor a loop device can be mounted,
``fs.real`` is False: the directory is a plain one and :meth:`SmallFs.fill` creates the marker
``DISK_FULL_MARKER`` instead, which ``tests/faults.py disk-full`` turns into the very error chdb
records when its disk is full (the only place the test then simulates).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SmallFs", "small_filesystem", "DISK_FULL_MARKER"]

#: Marker file (in the filesystem's parent directory) that stands for "disk full" when nothing could be mounted.
DISK_FULL_MARKER = "disk-full.marker"


class SmallFs:
    """A mounted small filesystem (or a plain directory when mounting is impossible, ``real`` False)."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind  # "tmpfs", "loop" or "simulated"
        self.real = kind != "simulated"
        self.filler = path / "filler.bin"
        self.marker = path.parent / DISK_FULL_MARKER

    def free_bytes(self) -> int:
        """Bytes an unprivileged writer can still write."""
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self) -> int:
        """Write a filler file until the filesystem refuses (ENOSPC); returns its size."""
        if not self.real:
            self.marker.write_text("full")
            return 0
        written = 0
        chunk = b"\0" * (1 << 20)
        with open(self.filler, "ab", buffering=0) as f:
            while True:
                try:
                    written += f.write(chunk if self.free_bytes() >= len(chunk) else chunk[:4096]) or 0
                except OSError:
                    break
        assert self.free_bytes() < 64 * 1024, self.free_bytes()
        return written

    def free(self) -> None:
        """Remove the filler: space again."""
        self.marker.unlink(missing_ok=True)
        self.filler.unlink(missing_ok=True)


def _run(*cmd: str) -> bool:
    return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0


@contextlib.contextmanager
def small_filesystem(path: Path, mib: int = 64) -> Iterator[SmallFs]:
    """Mount a ``mib`` MiB tmpfs at ``path`` (else an ext4 image on a loop device, else a plain directory)."""
    path.mkdir(parents=True, exist_ok=True)
    image = path.parent / f"{path.name}.img"
    kind = "simulated"
    if _run("mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(path)):
        kind = "tmpfs"
    elif (
        _run("truncate", "-s", f"{mib}M", str(image))
        and _run("mkfs.ext4", "-q", "-m", "0", str(image))
        and _run("mount", "-o", "loop", str(image), str(path))
    ):
        kind = "loop"
    try:
        yield SmallFs(path, kind)
    finally:
        if kind != "simulated" and not _run("umount", str(path)):
            _run("umount", "-l", str(path))  # a process still holds a file: detach now, freed when it lets go
        image.unlink(missing_ok=True)
