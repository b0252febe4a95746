"""A small Python client for the nestlab API.

    from nestlab.client import Client
    api = Client("http://127.0.0.1:8080", token)
    zpod = api.create_zpod("lab", endpoint="sim", profile="minimal")
    job = api.follow_job(zpod["job_id"], on_event=print)   # live (SSE)

Errors come back as `ApiError`, which carries the API's error envelope.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import requests


class ApiError(Exception):
    def __init__(self, status: int, envelope: dict):
        self.status = status
        self.envelope = envelope
        message = envelope.get("message") or f"HTTP {status}"
        if envelope.get("errors"):
            message += f" {envelope['errors']}"
        super().__init__(message)


class Client:
    def __init__(self, url: str, token: str, timeout: float = 30.0):
        self.base = url.rstrip("/") + "/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def request(self, method: str, path: str, **kwargs):
        response = self.http.request(method, self.base + path, timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            try:
                envelope = response.json()
            except ValueError:
                envelope = {"message": response.text[:200]}
            raise ApiError(response.status_code, envelope)
        return response.json() if response.content else None

    # endpoints
    def create_endpoint(self, **fields) -> dict:
        return self.request("POST", "/endpoints", json=fields)

    def endpoints(self) -> list[dict]:
        return self.request("GET", "/endpoints")

    def verify_endpoint(self, ref: str | int) -> dict:
        return self.request("POST", f"/endpoints/{ref}/verify")

    # zPods
    def create_zpod(self, name: str, endpoint: str, profile: str = "minimal") -> dict:
        return self.request("POST", "/zpods",
                            json={"name": name, "endpoint": endpoint, "profile": profile})

    def zpod(self, ref: str | int) -> dict:
        return self.request("GET", f"/zpods/{ref}")

    def zpods(self, include_destroyed: bool = False) -> list[dict]:
        return self.request("GET", "/zpods", params={"all": str(include_destroyed).lower()})

    def destroy_zpod(self, ref: str | int) -> dict:
        return self.request("DELETE", f"/zpods/{ref}")

    # jobs
    def job(self, job_id: int) -> dict:
        return self.request("GET", f"/jobs/{job_id}")

    def wait_for_job(self, job_id: int, timeout: float = 1800.0, interval: float = 0.3,
                     on_event: Callable[[dict], None] | None = None) -> dict:
        """Wait until the job ends, calling `on_event` for each new event in order."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            job = self.job(job_id)
            for event in job["events"]:
                if event["seq"] > seen:
                    seen = event["seq"]
                    if on_event:
                        on_event(event)
            if job["status"] in ("succeeded", "failed"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout:.0f}s")
            time.sleep(interval)

    def follow_job(self, job_id: int, on_event: Callable[[dict], None] | None = None,
                   timeout: float = 1800.0) -> dict:
        """Follow the job's live event stream until it ends; returns the finished job.

        A dropped connection is resumed with `Last-Event-ID`, so each event is
        seen once, in order.
        """
        deadline = time.monotonic() + timeout
        last = 0
        while time.monotonic() < deadline:
            try:
                for event_id, kind, data in self._stream(f"/jobs/{job_id}/events", last):
                    if kind == "end":
                        return self.job(job_id)
                    last = event_id
                    if on_event:
                        on_event(data)
                return self.job(job_id)  # 204: nothing left after `last`
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(1)
        raise TimeoutError(f"job {job_id} still running after {timeout:.0f}s")

    def _stream(self, path: str, last_id: int) -> Iterator[tuple[int | None, str, dict]]:
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(last_id)}
        with self.http.get(self.base + path, headers=headers, stream=True,
                           timeout=(self.timeout, 120)) as response:
            if response.status_code == 204:
                return
            if response.status_code >= 400:
                raise ApiError(response.status_code, response.json())
            fields: dict[str, str] = {}
            for line in response.iter_lines(chunk_size=None, decode_unicode=True):
                if line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                    continue
                if "data" in fields:
                    event_id = int(fields["id"]) if "id" in fields else None
                    yield event_id, fields.get("event", "message"), json.loads(fields["data"])
                fields = {}
