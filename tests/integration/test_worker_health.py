"""`python -m shared.healthcheck SERVICE` pings a worker named SERVICE@<this host>."""

from __future__ import annotations

import socket
import subprocess
import sys

from celery.contrib.testing.worker import start_worker

from services.deployer.app import create_worker
from tests.conftest import settings_env


def healthcheck(settings, service: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shared.healthcheck", service, "1"],
                          env=settings_env(settings), capture_output=True, text=True, timeout=60)


def test_healthy_worker_answers_and_a_missing_one_does_not(settings):
    assert healthcheck(settings, "deployer").returncode == 1
    app = create_worker(settings)
    with start_worker(app, pool="solo", perform_ping_check=False, queues=["deployer"],
                      hostname=f"deployer@{socket.gethostname()}", loglevel="WARNING"):
        result = healthcheck(settings, "deployer")
    assert result.returncode == 0, result.stderr
