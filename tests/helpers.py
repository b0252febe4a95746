"""Small helpers for tests: waiting on jobs, worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from shared.models import Step
from tests.conftest import SECRET_KEY


def wait_for_job(client, job_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").get_json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s: {job}")


def sse_messages(lines):
    """Messages of a text/event-stream body, given its lines, as dicts (a comment is
    {'comment': ...})."""
    message: dict = {}
    for line in lines:
        if line == "":
            if message:
                yield message
            message = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            message[name] = value.removeprefix(" ")


def start_worker_process(settings, name: str, log_dir, **extra_env) -> subprocess.Popen:
    """A deployer worker process (prefork, one child); `extra_env` adds NESTLAB_* settings."""
    env = dict(os.environ, **extra_env,
               DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               NESTLAB_SECRET_KEY=SECRET_KEY, NESTLAB_VAR_DIR=str(settings.var_dir),
               NESTLAB_VISIBILITY_TIMEOUT="2", NESTLAB_JOB_STALE_AFTER="3")
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "services.deployer.worker", "worker",
         "-Q", "deployer", "-c", "1", "--pool", "prefork", "-n", f"{name}@%h",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()



def vm_step_running(sessions, job_id: int) -> bool:
    with sessions() as session:
        steps = session.scalars(select(Step).where(Step.job_id == job_id,
                                                   Step.name.like("%: create"))).all()
        return any(step.status == "running" for step in steps)
