"""A per-worker limit on concurrent downloads, across the worker's processes.

Each slot is a lock file under the worker's own state directory, held with
flock while a download runs; the kernel releases it if the process dies, so a
killed worker never leaks a slot.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def download_slot(directory: Path, slots: int):
    """Yields the slot number taken, or None when all `slots` are busy."""
    directory.mkdir(parents=True, exist_ok=True)
    for number in range(max(1, slots)):
        handle = open(directory / f"slot-{number}.lock", "a+")  # noqa: SIM115 - closed below
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield number
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    yield None
