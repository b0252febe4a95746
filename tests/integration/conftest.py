"""Fixtures of the integration tests that work on zPods."""

from __future__ import annotations

import pytest

from tests.conftest import endpoint_body


@pytest.fixture
def endpoint(client, simulator):
    """The test's simulator registered as endpoint `sim`."""
    response = client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    assert response.status_code == 201, response.json
    return response.json
