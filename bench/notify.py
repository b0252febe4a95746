"""Chat notifications: event-to-post latency, and events per second one notifier sustains.

Real parts throughout: SQLite, Redis, the notifier as `celery -A
services.notifier.worker` in its own process (threads pool, 8 threads, as in
compose.yaml), and a local HTTP receiver standing in for a chat service. The
channel is a signed generic webhook subscribed to `job_started`; each event
belongs to its own job, so nothing is coalesced.

- latency: one event at a time, from `EventRecorder.emit` (DB row, XADD, the
  `notifier.event` task) to the receiver holding the post;
- throughput: a backlog of events whose tasks are all queued at once; posts
  per second until the receiver has them all.

Set NESTLAB_BENCH_DATABASE_URL to an empty PostgreSQL database to measure on it
instead of SQLite (the schema is removed again afterwards), and
NESTLAB_BENCH_POOL=prefork to run the worker with 2 processes instead of threads.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis
from cryptography.fernet import Fernet

from nestlab import devstack
from services.api import create_app
from services.api.auth import ensure_admin_token
from shared.contract import Tasks
from shared.db import alembic_config, transaction, upgrade
from shared.events import EventRecorder, notifier_hook
from shared.models import Job
from shared.settings import Settings

BENCH_REDIS_DB = 10
LATENCY_EVENTS = 200
BURST_EVENTS = 1000
THREADS = 8
POOL = os.environ.get("NESTLAB_BENCH_POOL", "threads")
CONCURRENCY = THREADS if POOL == "threads" else 2


class Receiver:
    """Records when each job's post arrived."""

    def __init__(self):
        self.arrivals: dict[int, float] = {}
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                job_id = json.loads(body)["data"]["job_id"]
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.changed:
                    receiver.arrivals.setdefault(job_id, time.perf_counter())
                    receiver.changed.notify_all()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, job_ids, timeout: float = 120.0) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: all(j in self.arrivals for j in job_ids),
                                         timeout):
                raise TimeoutError(f"{len(self.arrivals)} posts arrived")


def new_jobs(ctx, count: int) -> list[int]:
    with transaction(ctx.sessions) as session:
        jobs = [Job(kind="verify", status="running") for _ in range(count)]
        session.add_all(jobs)
        session.flush()
        return [job.id for job in jobs]


def start_notifier(settings: Settings, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               NESTLAB_SECRET_KEY=settings.secret_keys[0], NESTLAB_VAR_DIR=str(settings.var_dir),
               NESTLAB_NOTIFY_SWEEP_INTERVAL="3600")
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "services.notifier.worker", "worker", "-Q",
             "notifier", "-P", POOL, "-c", str(CONCURRENCY), "--without-gossip",
             "--without-mingle", "-l", "WARNING"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(workdir: Path, redis_url: str, database_url: str = "") -> None:
    settings = Settings(var_dir=workdir, redis_url=redis_url, republish_interval=0,
                        database_url=database_url,
                        secret_keys=(Fernet.generate_key().decode(),))
    upgrade(settings.database_url)
    app = create_app(settings)
    ctx = app.extensions["nestlab"]
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {ensure_admin_token(ctx)}"
    receiver = Receiver()
    port = receiver.server.server_address[1]
    assert client.post("/api/v1/channels", json={
        "name": "bench", "kind": "webhook", "url": f"http://127.0.0.1:{port}/hook",
        "subscriptions": [{"kinds": ["job_started"]}]}).status_code == 201
    notifier = start_notifier(settings, workdir / "notifier.log")
    try:
        recorder = EventRecorder(ctx.sessions, redis.Redis.from_url(redis_url),
                                 settings.events_stream, notify=notifier_hook(ctx.celery))
        warm = new_jobs(ctx, 5)
        for job_id in warm:
            recorder.emit(job_id, None, "job_started", "warm-up", 0)
        receiver.wait(warm)

        latencies = []
        for job_id in new_jobs(ctx, LATENCY_EVENTS):
            start = time.perf_counter()
            recorder.emit(job_id, None, "job_started", "bench", 0)
            receiver.wait([job_id])
            latencies.append(receiver.arrivals[job_id] - start)
        print(f"event -> chat post latency, {LATENCY_EVENTS} events one at a time: "
              f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms", flush=True)

        silent = EventRecorder(ctx.sessions, None, settings.events_stream)
        burst = new_jobs(ctx, BURST_EVENTS)
        event_ids = [silent.emit(job_id, None, "job_started", "burst", 0)["id"]
                     for job_id in burst]
        start = time.perf_counter()
        for event_id in event_ids:
            ctx.celery.send_task(Tasks.NOTIFY_EVENT.name, args=[event_id],
                                 queue=Tasks.NOTIFY_EVENT.queue)
        receiver.wait(burst, timeout=600)
        elapsed = max(receiver.arrivals[j] for j in burst) - start
        print(f"one notifier worker ({POOL} pool, concurrency {CONCURRENCY}), backlog of "
              f"{BURST_EVENTS} events: {BURST_EVENTS / elapsed:.0f} events/s routed and posted",
              flush=True)
    finally:
        os.killpg(notifier.pid, signal.SIGTERM)
        notifier.wait(30)
        ctx.close()
        ctx.engine.dispose()
        if database_url:
            from alembic import command

            command.downgrade(alembic_config(database_url), "base")


def main() -> None:
    stack = devstack.Stack()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = devstack.ensure_redis(stack, Path(tmp))
            redis_url = base.rsplit("/", 1)[0] + f"/{BENCH_REDIS_DB}"
            redis.Redis.from_url(redis_url).flushdb()
            database_url = os.environ.get("NESTLAB_BENCH_DATABASE_URL", "")
            print(f"{'PostgreSQL' if database_url else 'SQLite'}, Redis, notifier process -> "
                  "local receiver (signed webhook)")
            run(Path(tmp), redis_url, database_url)
    finally:
        stack.stop()
