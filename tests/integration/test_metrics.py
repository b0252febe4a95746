"""/metrics in Prometheus format: requests, jobs, steps, SOAP calls, queues."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import endpoint_body
from tests.helpers import wait_for_job


def scrape(app) -> dict:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = sample.value
    return samples


def test_metrics_after_a_deployment(app, client, worker, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    job = wait_for_job(client, client.post("/api/v1/zpods", json={
        "name": "metered", "endpoint": "sim", "profile": "minimal"}).json["job_id"])
    assert job["status"] == "succeeded"
    samples = scrape(app)

    assert samples[("nestlab_jobs", (("kind", "deploy"), ("status", "succeeded")))] == 1
    assert samples[("nestlab_job_soap_calls_count", (("kind", "deploy"),))] == 1
    assert samples[("nestlab_job_soap_calls_sum", (("kind", "deploy"),))] == job["soap_calls"]
    assert samples[("nestlab_step_duration_seconds_count", (("step", "portgroup"),))] == 1
    assert ("nestlab_job_duration_seconds_sum",
            (("kind", "deploy"), ("status", "succeeded"))) in samples
    assert samples[("nestlab_queue_depth", (("queue", "deployer"),))] == 0
    posted = ("nestlab_http_requests_total",
              (("method", "POST"), ("route", "/api/v1/zpods"), ("status", "202")))
    assert samples[posted] == 1
    assert ("nestlab_http_request_duration_seconds_count",
            (("method", "POST"), ("route", "/api/v1/zpods"))) in samples


def test_queue_depth_counts_waiting_messages(app, client, redis_client):
    client.post("/api/v1/endpoints", json=endpoint_body(
        type("Sim", (), {"host": "127.0.0.1", "port": 1, "username": "u", "password": "p"})))
    client.post("/api/v1/endpoints/sim/verify")
    client.post("/api/v1/endpoints/sim/verify")
    assert scrape(app)[("nestlab_queue_depth", (("queue", "deployer"),))] == 2
