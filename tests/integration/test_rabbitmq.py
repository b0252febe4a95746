"""RabbitMQ as the broker (BROKER_URL=amqp://...): durable queues, a whole deployment."""

from __future__ import annotations

import os

import amqp
import pytest
from celery.contrib.testing.worker import start_worker

from nestlab import devstack
from services.api import create_app
from services.api.auth import ensure_admin_token
from services.deployer.app import create_worker
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job

AMQP_URL = os.environ.get("NESTLAB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture
def rabbit_settings(settings):
    if not devstack.port_open("127.0.0.1", 5672):
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    return settings.with_overrides(broker_url=AMQP_URL)


def queue_is_durable(name: str) -> bool:
    """Re-declaring a durable queue as transient is refused (406 PRECONDITION_FAILED)."""
    with amqp.Connection("127.0.0.1:5672", userid="guest", password="guest") as connection:
        channel = connection.channel()
        try:
            channel.queue_declare(name, durable=False, auto_delete=False)
        except amqp.exceptions.PreconditionFailed:
            return True
        channel.queue_delete(name)
        return False


def purge(name: str) -> None:
    with amqp.Connection("127.0.0.1:5672", userid="guest", password="guest") as connection:
        channel = connection.channel()
        channel.queue_declare(name, durable=True, auto_delete=False)
        channel.queue_purge(name)


def test_deployment_through_rabbitmq(rabbit_settings, simulator):
    app = create_app(rabbit_settings)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = (
        f"Bearer {ensure_admin_token(app.extensions['nestlab'])}")
    worker_app = create_worker(rabbit_settings)
    # The solo pool over amqp waits ~10 s between messages; a one-thread pool does not.
    with start_worker(worker_app, pool="threads", concurrency=1, perform_ping_check=False,
                      queues=["deployer"], loglevel="WARNING", shutdown_timeout=60):
        client.post("/api/v1/endpoints", json=endpoint_body(simulator))
        response = client.post("/api/v1/zpods", json={"name": "rabbit", "endpoint": "sim",
                                                      "profile": "minimal"})
        job = wait_for_job(client, response.get_json()["job_id"])
        assert job["status"] == "succeeded", job
        job = wait_for_job(client, client.delete("/api/v1/zpods/rabbit").get_json()["job_id"])
        assert job["status"] == "succeeded", job
    assert queue_is_durable("deployer")
    purge("notifier")  # the events' notifier tasks: no notifier runs in this test
