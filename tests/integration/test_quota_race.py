"""Concurrent zPod requests by one user never pass a quota together (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.integration.conftest import grant_endpoint

REQUESTS = 8


def test_racing_requests_of_one_user_fit_the_quota_once(live_server, admin, make_user,
                                                        fake_endpoint):
    user = make_user("quinn", max_zpods=1)
    grant_endpoint(admin, "quinn")
    start = threading.Barrier(REQUESTS)

    def request(index: int) -> httpx.Response:
        with httpx.Client(base_url=live_server, timeout=60,
                          headers={"Authorization": f"Bearer {user.token}"}) as http:
            start.wait()
            return http.post("/api/v1/zpods", json={"name": f"q{index}", "endpoint": "sim",
                                                    "profile": "minimal"})

    with ThreadPoolExecutor(REQUESTS) as pool:
        responses = list(pool.map(request, range(REQUESTS)))

    codes = sorted(r.status_code for r in responses)
    assert codes == [202] + [409] * (REQUESTS - 1), [r.json() for r in responses]
    assert all("max_zpods" in r.json()["message"] for r in responses if r.status_code == 409)
    assert user.get("/api/v1/users/me").json["usage"]["zpods"] == 1
