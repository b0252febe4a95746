"""Big zPods and more deployer workers: wall time and SOAP calls per zPod.

A zPod of 1 router + N ESXi (N = 3, 8, 16) is deployed on the simulator with
50 ms on every SOAP call, by 1, 2 and 4 deployer worker processes (each a
`celery worker -c 1`, as separate machines would run them). The API runs in
this process on SQLite; Redis is the broker. Figures: seconds from POST to
`succeeded`, and the job's SOAP call count (all its tasks).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.deploy import api_client, bench_settings, bench_stack, wait
from nestlab import devstack
from shared.settings import Settings

SIZES = (3, 8, 16)
WORKERS = (1, 2, 4)
DELAY_MS = 50
BENCH_REDIS_DB = 6


def profile(n: int) -> dict:
    return {"name": f"esxi-{n}", "stages": [
        {"name": "network", "items": [{"role": "router", "hostname": "router",
                                       "host_octet": 1}]},
        {"name": "hosts", "items": [{"role": "esxi", "hostname": "esxi{n}", "host_octet": 10,
                                     "count": n, "cpus": 4, "memory_mb": 8192,
                                     "guest_id": "vmkernel7Guest", "nested_hv": True,
                                     "disks": [{"size_gb": 8}]}]}]}


def start_workers(count: int, settings: Settings, workdir: Path) -> list[subprocess.Popen]:
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               NESTLAB_SECRET_KEY=settings.secret_keys[0], NESTLAB_VAR_DIR=str(settings.var_dir))
    procs = []
    for n in range(count):
        log = open(workdir / f"worker-{count}-{n}.log", "wb")  # noqa: SIM115 - with the process
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "services.deployer.worker", "worker",
             "-Q", "deployer", "-c", "1", "--pool", "prefork", "-n", f"bench{count}-{n}@%h",
             "--without-gossip", "--without-mingle", "-l", "WARNING"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def run_workers(stack, workdir: Path, workers: int, redis_url: str) -> list[tuple]:
    sim = devstack.start_vcsim(stack, workdir / f"sim-{workers}", flags=["-delay", str(DELAY_MS)])
    settings = bench_settings(workdir / f"case-{workers}", redis_url)
    app, client = api_client(settings, sim)
    procs = start_workers(workers, settings, workdir)
    rows = []
    try:
        warm = client.post("/api/v1/zpods", json={"name": "warm", "endpoint": "sim",
                                                  "profile": "minimal"}).get_json()
        assert wait(client, warm["job_id"])["status"] == "succeeded"
        for n in SIZES:
            client.post("/api/v1/profiles", json=profile(n))
            start = time.perf_counter()
            job = wait(client, client.post("/api/v1/zpods", json={
                "name": f"z{n}", "endpoint": "sim", "profile": f"esxi-{n}"}).get_json()["job_id"])
            elapsed = time.perf_counter() - start
            assert job["status"] == "succeeded", job["error"]
            rows.append((n, workers, elapsed, job["soap_calls"]))
    finally:
        stop_workers(procs)
        app.extensions["nestlab"].close()
        sim.stop()
    return rows


def main() -> None:
    with bench_stack(BENCH_REDIS_DB) as (stack, workdir, redis_url):
        print(f"1 router + N ESXi, {DELAY_MS} ms per SOAP call, POST to succeeded")
        print(f"{'N ESXi':>6} | {'workers':>7} | {'seconds':>7} | SOAP calls/zPod")
        for workers in WORKERS:
            for n, w, seconds, calls in run_workers(stack, workdir, workers, redis_url):
                print(f"{n:>6} | {w:>7} | {seconds:7.2f} | {calls}", flush=True)
