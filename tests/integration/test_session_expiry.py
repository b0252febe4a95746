"""An expired vCenter session is a transient fault: the worker logs in again and the
job finishes."""

from __future__ import annotations

import time

import pytest

from tests.conftest import endpoint_body
from tests.helpers import wait_for_job


@pytest.fixture
def forgetful_simulator(make_simulator):
    return make_simulator("forgetful", "-session-idle-timeout", "1s")


def test_expired_session_is_renewed(client, worker, forgetful_simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(forgetful_simulator))
    first = wait_for_job(client, client.post("/api/v1/endpoints/sim/verify").json["id"])
    assert first["status"] == "succeeded", first
    time.sleep(2.5)  # the worker's cached session expires on the simulator
    job = wait_for_job(client, client.post("/api/v1/zpods", json={
        "name": "renewed", "endpoint": "sim", "profile": "minimal"}).json["job_id"])
    assert job["status"] == "succeeded", job
    kinds = [e["kind"] for e in job["events"]]
    assert "job_retrying" in kinds
    retry = next(e for e in job["events"] if e["kind"] == "job_retrying")
    assert "NotAuthenticated" in retry["message"]
