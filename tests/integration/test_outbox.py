"""An accepted request survives a broker outage: the job is recorded, then re-published."""

from __future__ import annotations

from nestlab.devstack import free_port
from services.api import create_app
from services.api.auth import ensure_admin_token
from shared.outbox import republish_due
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job


def test_job_published_later_when_the_broker_was_down(settings, worker, simulator):
    down = settings.with_overrides(broker_url=f"redis://127.0.0.1:{free_port()}/0",
                                   publish_timeout=0.5)
    app = create_app(down)
    client = app.test_client()
    token = ensure_admin_token(app.extensions["nestlab"])
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    assert client.post("/api/v1/endpoints", json=endpoint_body(simulator)).status_code == 201
    response = client.post("/api/v1/zpods", json={"name": "later", "endpoint": "sim",
                                                  "profile": "minimal"})
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job_id"]
    job = client.get(f"/api/v1/jobs/{job_id}").get_json()
    assert job["status"] == "queued"

    # The broker is back: the re-publisher (running with the real settings) sends it.
    healthy = create_app(settings).extensions["nestlab"]
    assert republish_due(healthy) == 1
    assert republish_due(healthy) == 0, "published jobs are not sent again"
    job = wait_for_job(client, job_id)
    assert job["status"] == "succeeded", job


def test_the_periodic_republish_task_runs_on_the_deployer(settings, worker, simulator):
    """What beat schedules: `deployer.republish_jobs`, run by a deployer worker."""
    from services.deployer.beat import create_beat
    from shared.contract import Tasks

    down = settings.with_overrides(broker_url=f"redis://127.0.0.1:{free_port()}/0",
                                   publish_timeout=0.5)
    app = create_app(down)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = (
        f"Bearer {ensure_admin_token(app.extensions['nestlab'])}")
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    job_id = client.post("/api/v1/endpoints/sim/verify").get_json()["id"]

    beat = create_beat(settings)
    entry = beat.conf.beat_schedule["republish-jobs"]
    assert entry["task"] == Tasks.REPUBLISH_JOBS.name
    beat.send_task(entry["task"], **entry["options"])
    job = wait_for_job(client, job_id)
    assert job["status"] == "succeeded", job
