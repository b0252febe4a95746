"""Moving bytes fast: read, hash and write in three threads, and report progress.

A download must hash what it writes (sha256 while streaming, no second pass)
and still keep up with `curl`. Hashing and writing each release the GIL, so
the caller reads the next buffer from the network while one thread hashes the
previous one and another writes the one before: throughput is that of the
slowest stage instead of the sum of all three.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

CHUNK = 4 << 20
DEPTH = 6


class WriteFailed(Exception):
    """Writing to the destination failed (disk full, I/O error); wraps the OSError."""


class HashingWriter:
    """Hashes and writes buffers the caller fills, in two threads of its own.

    Buffers go writer-ward in order; `close()` waits for the last one and
    re-raises a failure of either thread as WriteFailed.
    """

    def __init__(self, file, hasher, chunk: int = CHUNK, depth: int = DEPTH):
        self.file, self.hasher = file, hasher
        self.written = 0
        self.error: BaseException | None = None
        self._free: queue.Queue = queue.Queue()
        for _ in range(depth):
            self._free.put(bytearray(chunk))
        self._to_hash: queue.Queue = queue.Queue()
        self._to_write: queue.Queue = queue.Queue()
        self._threads = [threading.Thread(target=self._hash_loop, daemon=True),
                         threading.Thread(target=self._write_loop, daemon=True)]
        for thread in self._threads:
            thread.start()

    def fill(self, read_into: Callable[[memoryview], int]) -> int:
        """Fill one buffer with `read_into` until it is full or the source ends; 0 at the end.

        Bytes read before `read_into` raises are still hashed and written, so a
        dropped connection leaves an exact prefix to resume from.
        """
        buffer = self._take()
        view, filled = memoryview(buffer), 0
        try:
            while filled < len(buffer):
                count = read_into(view[filled:])
                if not count:
                    break
                filled += count
        finally:
            view.release()
            if filled:
                self._to_hash.put((buffer, filled))
            else:
                self._free.put(buffer)
        return filled

    def _take(self) -> bytearray:
        while True:
            if self.error is not None:
                raise WriteFailed(str(self.error)) from self.error
            try:
                return self._free.get(timeout=0.5)
            except queue.Empty:
                continue

    def _hash_loop(self) -> None:
        while (item := self._to_hash.get()) is not None:
            buffer, count = item
            if self.error is None:
                with memoryview(buffer) as view:
                    self.hasher.update(view[:count])
            self._to_write.put(item)
        self._to_write.put(None)

    def _write_loop(self) -> None:
        while (item := self._to_write.get()) is not None:
            buffer, count = item
            if self.error is None:
                try:
                    with memoryview(buffer) as view:
                        self.file.write(view[:count])
                    self.written += count
                except BaseException as exc:  # noqa: BLE001 - handed to the caller in close()
                    self.error = exc
            self._free.put(buffer)

    def close(self) -> None:
        self._to_hash.put(None)
        for thread in self._threads:
            thread.join()
        if self.error is not None:
            raise WriteFailed(str(self.error)) from self.error


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def human_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Meter:
    """Turns a running byte count into progress reports, at most one per `interval`.

    `report(percent, done, message)` gets e.g. "512.0 MiB of 1.0 GiB (50%),
    85.3 MiB/s, ETA 6s"; the rate is over this attempt only, so a resumed
    transfer does not look faster than it is.
    """

    def __init__(self, total: int, report: Callable[[int, int, str], None], interval: float,
                 start: int = 0, clock: Callable[[], float] = time.monotonic):
        self.total, self.report, self.interval, self.clock = total, report, interval, clock
        self.start_bytes, self.started = start, clock()
        self.last = self.started

    def percent(self, done: int) -> int:
        return min(100, int(100 * done / self.total)) if self.total else 100

    def message(self, done: int) -> str:
        elapsed = max(self.clock() - self.started, 1e-6)
        rate = (done - self.start_bytes) / elapsed
        text = (f"{human_bytes(done)} of {human_bytes(self.total)} ({self.percent(done)}%), "
                f"{human_bytes(rate)}/s")
        if rate > 0 and done < self.total:
            text += f", ETA {human_duration((self.total - done) / rate)}"
        return text

    def update(self, done: int, force: bool = False) -> None:
        now = self.clock()
        if force or now - self.last >= self.interval:
            self.last = now
            self.report(self.percent(done), done, self.message(done))
