"""Deploy + destroy the `minimal` zPod on the simulator: wall time and SOAP calls.

Real parts throughout: the API app, SQLite, Redis, a Celery worker (in this
process) and the simulator over SOAP. Each case runs with no added latency
and with 50 ms on every SOAP call, to mimic a real vCenter.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from celery.contrib.testing.worker import start_worker
from cryptography.fernet import Fernet

from nestlab import devstack
from services.api import create_app
from services.api.auth import ensure_admin_token
from services.deployer.app import create_worker
from shared.db import upgrade
from shared.settings import Settings

RUNS = 5
BENCH_REDIS_DB = 5


def wait(client, job_id: int) -> dict:
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").get_json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.02)


def bench_settings(var_dir: Path, redis_url: str) -> Settings:
    settings = Settings(var_dir=var_dir, redis_url=redis_url,
                        secret_keys=(Fernet.generate_key().decode(),), republish_interval=0)
    upgrade(settings.database_url)
    return settings


def api_client(settings: Settings, sim):
    """(app, test client) of an API with an admin token and the simulator as endpoint `sim`."""
    app = create_app(settings)
    client = app.test_client()
    token = ensure_admin_token(app.extensions["nestlab"])
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.post("/api/v1/endpoints", json={
        "name": "sim", "host": sim.host, "port": sim.port, "username": sim.username,
        "password": sim.password, "datacenter": "DC0", "cluster": "DC0_C0",
        "datastore": "LocalDS_0", "switch": "DVS0", "verify_tls": False,
        "supernet": "10.96.0.0/16", "vlan_range": "100-199"})
    assert response.status_code == 201, response.get_json()
    return app, client


def run_case(stack, workdir: Path, delay_ms: int, redis_url: str) -> dict:
    sim = devstack.start_vcsim(stack, workdir / f"sim-{delay_ms}",
                               flags=["-delay", str(delay_ms)])
    settings = bench_settings(workdir / f"case-{delay_ms}", redis_url)
    app, client = api_client(settings, sim)
    deploys, destroys, calls = [], [], []
    with start_worker(create_worker(settings), pool="solo", perform_ping_check=False,
                      queues=["deployer"], loglevel="WARNING"):
        for run in range(RUNS):
            start = time.perf_counter()
            job = wait(client, client.post("/api/v1/zpods", json={
                "name": f"b{run}", "endpoint": "sim", "profile": "minimal"}).get_json()["job_id"])
            deploys.append(time.perf_counter() - start)
            assert job["status"] == "succeeded", job
            calls.append(job["soap_calls"])
            start = time.perf_counter()
            job = wait(client, client.delete(f"/api/v1/zpods/b{run}").get_json()["job_id"])
            destroys.append(time.perf_counter() - start)
            assert job["status"] == "succeeded", job
    sim.stop()
    return {"deploy": statistics.median(deploys), "destroy": statistics.median(destroys),
            "calls": statistics.median(calls)}


@contextmanager
def bench_stack(redis_db: int):
    """(stack, work directory, Redis URL on its own emptied database) for one benchmark."""
    stack = devstack.Stack()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            base = devstack.ensure_redis(stack, workdir)
            redis_url = base.rsplit("/", 1)[0] + f"/{redis_db}"
            redis.Redis.from_url(redis_url).flushdb()
            yield stack, workdir, redis_url
    finally:
        stack.stop()


def main() -> None:
    with bench_stack(BENCH_REDIS_DB) as (stack, workdir, redis_url):
        print(f"minimal zPod (router + 3 ESXi), median of {RUNS} runs, POST to succeeded")
        print(f"{'SOAP delay':>10} | {'deploy s':>8} | {'destroy s':>9} | SOAP calls/deploy")
        for delay in (0, 50):
            figures = run_case(stack, workdir, delay, redis_url)
            print(f"{delay:>8}ms | {figures['deploy']:8.2f} | {figures['destroy']:9.2f} | "
                  f"{figures['calls']:.0f}", flush=True)
