"""Concurrent zPod requests never get the same VLAN or subnet (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import endpoint_body

SIM = type("Sim", (), {"host": "127.0.0.1", "port": 8989, "username": "u", "password": "p"})
FREE_VLANS = 4
REQUESTS = 10


def test_racing_requests_share_out_the_last_vlans_exactly_once(app, client, admin_token,
                                                               redis_client):
    client.post("/api/v1/endpoints", json=endpoint_body(SIM, vlan_range=f"100-{99 + FREE_VLANS}"))
    start = threading.Barrier(REQUESTS)

    def request(index: int):
        own = app.test_client()
        own.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {admin_token}"
        start.wait()
        return own.post("/api/v1/zpods", json={"name": f"race{index}", "endpoint": "sim",
                                                "profile": "minimal"})

    with ThreadPoolExecutor(REQUESTS) as pool:
        responses = list(pool.map(request, range(REQUESTS)))

    accepted = [r.get_json() for r in responses if r.status_code == 202]
    refused = [r.get_json() for r in responses if r.status_code == 409]
    assert len(accepted) == FREE_VLANS and len(refused) == REQUESTS - FREE_VLANS, \
        [r.status_code for r in responses]
    assert all("no free vlan" in body["message"] for body in refused)
    vlans = [body["network"]["vlan"] for body in accepted]
    subnets = [body["network"]["subnet"] for body in accepted]
    assert sorted(vlans) == list(range(100, 100 + FREE_VLANS))
    assert len(set(subnets)) == FREE_VLANS
