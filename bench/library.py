"""Download throughput: our fetch (sha256 while streaming) against `curl -s -o`.

One 1 GiB file of random bytes, served by a real threaded HTTP server on
127.0.0.1 in its own process (sendfile, Range support), fetched alternately by
curl and by the library's download code into the same directory, in the same
run. The machine is shared and noisy, so each client runs RUNS times and both
the median and the best are printed; the ratio is ours / curl (goal: >= 0.9).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from services.library.fetch import fetch
from services.library.resolve import Resolved
from services.library.transfer import Meter

SIZE = 1 << 30
RUNS = 5
MB = 1_000_000
ROOT = Path(__file__).resolve().parent.parent


def make_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "wb") as handle:
        for _ in range(SIZE // (16 << 20)):
            block = os.urandom(16 << 20)
            hasher.update(block)
            handle.write(block)
    return hasher.hexdigest()


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "nestlab.fileserver", str(root)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline()
    return proc, line.split(" on ", 1)[1].strip()


def run_curl(url: str, dest: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", str(dest), url], check=True)
    elapsed = time.perf_counter() - start
    if dest.stat().st_size != SIZE:
        raise RuntimeError("curl fetched a short file")
    return elapsed


def run_ours(url: str, dest: Path, digest: str) -> float:
    meter = Meter(SIZE, lambda *_: None, interval=2.0)
    start = time.perf_counter()
    got = fetch(Resolved(url=url, shown=url), dest, SIZE, meter)
    elapsed = time.perf_counter() - start
    if got != digest:
        raise RuntimeError("checksum mismatch")
    return elapsed


def rates(times: list[float]) -> tuple[float, float]:
    return SIZE / statistics.median(times) / MB, SIZE / min(times) / MB


def main() -> None:
    if shutil.which("curl") is None:
        print("curl is not installed (tools/setup-system.sh installs it); skipped")
        return
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp:
        work = Path(tmp)
        (work / "www").mkdir()
        digest = make_file(work / "www" / "big.bin")
        server, base = start_server(work / "www")
        curl, ours = [], []
        try:
            for _ in range(RUNS):
                curl.append(run_curl(base + "big.bin", work / "curl.bin"))
                (work / "curl.bin").unlink()
                ours.append(run_ours(base + "big.bin", work / "ours.part", digest))
                (work / "ours.part").unlink()
        finally:
            server.terminate()
            server.wait()
    (curl_median, curl_best), (ours_median, ours_best) = rates(curl), rates(ours)
    print(f"1 GiB from a local HTTP server, {RUNS} alternating runs each, MB/s")
    print(f"{'client':>28} | {'median':>6} | {'best':>6}")
    print(f"{'curl -s -o':>28} | {curl_median:6.0f} | {curl_best:6.0f}")
    print(f"{'nestlab fetch (with sha256)':>28} | {ours_median:6.0f} | {ours_best:6.0f}")
    print(f"ratio nestlab/curl: median {ours_median / curl_median:.2f}x, best "
          f"{ours_best / curl_best:.2f}x (goal >= 0.9x)", flush=True)
