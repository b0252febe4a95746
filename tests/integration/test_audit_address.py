"""The audit's "from where": X-Forwarded-For counts only when sent by a trusted proxy."""

from __future__ import annotations

import pytest


@pytest.fixture(params=[(), ("127.0.0.0/8", "10.0.0.0/8")], ids=["none trusted", "trusted"])
def settings(settings, request):
    return settings.with_overrides(trusted_proxies=request.param)


def test_the_client_address_comes_from_trusted_proxies_only(settings, client):
    # The test client's peer is 127.0.0.1; 10.1.2.3 is a second proxy in front of it.
    forwarded = {"X-Forwarded-For": "198.51.100.7, 10.1.2.3"}
    assert client.post("/api/v1/users", json={"name": "ann"}, headers=forwarded).status_code == 201
    [entry] = client.get("/api/v1/audit?resource=users").json
    expected = "198.51.100.7" if settings.trusted_proxies else "127.0.0.1"
    assert entry["remote_addr"] == expected
