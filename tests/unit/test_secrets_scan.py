"""The suite's secrets scan finds a secret wherever it shows up, and lets shown-once ones be."""

from __future__ import annotations

import json
import logging

from werkzeug.test import Client
from werkzeug.wrappers import Response

from tests.secrets_scan import LogCollector, SecretsScan


def answering(body: dict, status: int = 200):
    def app(environ, start_response):
        return Response(json.dumps(body), status=status, mimetype="application/json")(
            environ, start_response)
    return app


def test_a_secret_in_a_response_or_a_log_line_is_found():
    scan = SecretsScan({"endpoint password": "hunter2"})
    Client(scan.wrap(answering({"note": "pw hunter2"}))).get("/api/v1/endpoints").get_data()
    logger = logging.getLogger("test.secrets_scan")
    handler = LogCollector(scan)
    logger.addHandler(handler)
    try:
        logger.warning("connecting with %s", "hunter2")
    finally:
        logger.removeHandler(handler)
    scan.check("t")
    assert len(scan.findings) == 2
    assert "endpoint password in the response to GET /api/v1/endpoints" in scan.findings[0]
    assert "<SECRET>" in scan.findings[1] and "hunter2" not in scan.findings[1]


def test_a_token_is_allowed_once_where_it_is_made_and_nowhere_else():
    scan = SecretsScan({})
    made = Client(scan.wrap(answering({"token": "nlb_abcdefghij"}, 201)))
    made.post("/api/v1/users/ann/tokens").get_data()
    scan.text("somewhere", "still nothing")
    scan.check("t")
    assert scan.findings == []
    made.post("/api/v1/users/ann/tokens").get_data()  # learnt again, then seen elsewhere
    Client(scan.wrap(answering({"echo": "nlb_abcdefghij"}))).get("/api/v1/users/me").get_data()
    scan.check("t")
    assert len(scan.findings) == 1 and "API token" in scan.findings[0]
