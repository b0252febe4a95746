"""Fixtures of the integration tests that work on zPods: a simulator endpoint, an inspector."""

from __future__ import annotations

import pytest

from tests.conftest import endpoint_body
from tests.vsphere_inspect import Inspector


@pytest.fixture
def inspector(simulator):
    """Plain pyvmomi on the simulator, to check what really exists in vCenter."""
    found = Inspector(simulator)
    yield found
    found.close()


@pytest.fixture
def endpoint(client, simulator):
    """The simulator registered as endpoint `sim`."""
    response = client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    assert response.status_code == 201, response.json
    return response.json
