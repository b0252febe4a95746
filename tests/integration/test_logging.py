"""The request id travels from the API request into the worker's log lines, with the job id."""

from __future__ import annotations

import io
import json
import logging

from shared.logs import configure_logging, job_id_var, make_handler, request_id_var
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job


def test_request_id_and_job_id_reach_the_worker_logs(client, worker, simulator, caplog):
    caplog.set_level(logging.INFO)
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    response = client.post("/api/v1/zpods", headers={"X-Request-ID": "trace-me-42"},
                           json={"name": "traced", "endpoint": "sim", "profile": "minimal"})
    assert response.headers["X-Request-ID"] == "trace-me-42"
    job_id = response.get_json()["job_id"]
    wait_for_job(client, job_id)
    worker_lines = [r for r in caplog.records if r.name.startswith("shared.events")
                    and getattr(r, "job_id", None) == job_id]
    assert worker_lines, "the worker logged the job's events"
    assert {r.request_id for r in worker_lines} == {"trace-me-42"}


def test_json_lines_carry_the_context():
    configure_logging()
    stream = io.StringIO()
    logger = logging.getLogger("nestlab.test.json")
    logger.addHandler(make_handler(stream, json_lines=True))
    logger.propagate = False
    record_token = "nlb_" + "x" * 20
    tokens = request_id_var.set("r1"), job_id_var.set(7)
    try:
        logger.warning("hello %s", record_token)
    finally:
        request_id_var.reset(tokens[0])
        job_id_var.reset(tokens[1])
    line = json.loads(stream.getvalue())
    assert line["message"] == "hello nlb_***"
    assert line["level"] == "WARNING" and line["request_id"] == "r1" and line["job_id"] == 7
