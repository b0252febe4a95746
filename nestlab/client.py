"""The nestlab Python SDK: typed calls for the API's resources, and live events.

    from nestlab.client import Client
    api = Client("http://127.0.0.1:8080", token)
    zpod = api.create_zpod("lab", endpoint="sim", profile="minimal")
    for event in api.job_events(zpod["job_id"]):      # live, resumes after a drop
        print(event["percent"], event["message"])

Errors are raised as `ApiError`, which carries the API's error envelope
(`code`, `status`, `message`, `errors`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from httpx_sse import connect_sse

from nestlab import __version__

FINISHED = ("succeeded", "failed")


class ApiError(Exception):
    """The API answered with an error; `envelope` is its JSON error body."""

    def __init__(self, status: int, envelope: dict):
        self.status = status
        self.envelope = envelope
        self.message = envelope.get("message") or f"HTTP {status}"
        self.errors = envelope.get("errors") or {}
        super().__init__(self.message + (f" {self.errors}" if self.errors else ""))


class Client:
    """One server, one token. Safe to reuse for many calls."""

    def __init__(self, url: str, token: str, timeout: float = 30.0, verify: bool = True):
        self.url = url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.url + "/api/v1", timeout=timeout, verify=verify,
            headers={"Authorization": f"Bearer {token}",
                     "User-Agent": f"nestlab-client/{__version__}"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, {"message": f"cannot reach {self.url}: {exc}"}) from exc
        if response.status_code >= 400:
            try:
                envelope = response.json()
            except ValueError:
                envelope = {"message": response.text[:200] or response.reason_phrase}
            raise ApiError(response.status_code, envelope)
        return response.json() if response.content else None

    # server
    def version(self) -> dict:
        return self.request("GET", "/version")

    # endpoints
    def create_endpoint(self, **fields) -> dict:
        return self.request("POST", "/endpoints", json=fields)

    def endpoints(self) -> list[dict]:
        return self.request("GET", "/endpoints")

    def endpoint(self, ref: str | int) -> dict:
        return self.request("GET", f"/endpoints/{ref}")

    def verify_endpoint(self, ref: str | int) -> dict:
        return self.request("POST", f"/endpoints/{ref}/verify")

    def endpoint_capacity(self, ref: str | int) -> dict:
        """CPU, memory, storage, VLAN ids and subnets: total, held by zPods, free."""
        return self.request("GET", f"/endpoints/{ref}/capacity")

    # zPods
    def add_component(self, zpod: str | int, item: dict) -> dict:
        """Add a component (one profile item) to a live zPod; returns the zPod."""
        return self.request("POST", f"/zpods/{zpod}/components", json=item)

    def overlays(self) -> list[dict]:
        return self.request("GET", "/overlays")

    def create_overlay(self, name: str, document: dict, description: str = "") -> dict:
        return self.request("POST", "/overlays", json={"name": name, "document": document,
                                                       "description": description})

    def delete_overlay(self, name: str) -> None:
        self.request("DELETE", f"/overlays/{name}")

    def create_zpod(self, name: str, endpoint: str, profile: str = "minimal",
                    overlays: list[str] | None = None, overrides: dict | None = None,
                    lease: str | int | None = None) -> dict:
        """Ask for a zPod: the profile, then named overlays, then `overrides`, merged;
        `lease` (`4h`, `PT4H`, seconds) destroys it after that long."""
        body = {"name": name, "endpoint": endpoint, "profile": profile,
                "overlays": overlays or [], "overrides": overrides or {}}
        if lease is not None:
            body["lease"] = lease
        return self.request("POST", "/zpods", json=body)

    def plan_zpod(self, name: str, endpoint: str, profile: str = "minimal",
                  overlays: list[str] | None = None, overrides: dict | None = None) -> dict:
        """What creating this zPod would do, without doing it: `ok`, every problem,
        the merged config, the network, components, vSphere objects and capacity."""
        return self.request("POST", "/zpods/plan", json={
            "name": name, "endpoint": endpoint, "profile": profile,
            "overlays": list(overlays or []), "overrides": overrides or {}})

    def extend_lease(self, ref: str | int, by: str | int | None = None,
                     until: str | None = None) -> dict:
        """Extend a zPod's lease by a duration (`2h`, `PT2H`, seconds) or to a time."""
        body = {"extend_by": by} if until is None else {"expires_at": until}
        return self.request("POST", f"/zpods/{ref}/lease", json=body)

    def zpod(self, ref: str | int) -> dict:
        return self.request("GET", f"/zpods/{ref}")

    def zpods(self, include_destroyed: bool = False) -> list[dict]:
        return self.request("GET", "/zpods", params={"all": str(include_destroyed).lower()})

    def destroy_zpod(self, ref: str | int) -> dict:
        return self.request("DELETE", f"/zpods/{ref}")

    def zpod_permissions(self, ref: str | int) -> list[dict]:
        return self.request("GET", f"/zpods/{ref}/permissions")

    def grant_zpod(self, ref: str | int, role: str, user: str | None = None,
                   group: str | None = None) -> dict:
        """Grant `role` (`admin` or `viewer`) on a zPod to a user or a group (one of them)."""
        grantee = {"user": user} if user is not None else {"group": group}
        return self.request("POST", f"/zpods/{ref}/permissions", json={**grantee, "role": role})

    def revoke_zpod_permission(self, ref: str | int, permission_id: int) -> None:
        self.request("DELETE", f"/zpods/{ref}/permissions/{permission_id}")

    def power_zpod(self, ref: str | int, action: str, component: str | None = None,
                   timeout: int | None = None) -> dict:
        """`start`, `stop`, `poweroff` or `reset` the zPod's VMs (or one component's);
        returns the job. `timeout`: seconds a `stop` waits for the guests."""
        path = f"/zpods/{ref}" + (f"/components/{component}" if component else "") + "/power"
        body = {"action": action, **({"timeout": timeout} if timeout is not None else {})}
        return self.request("POST", path, json=body)

    def remove_component(self, ref: str | int, hostname: str) -> dict:
        """Destroy one component's VM and forget the component; returns the job."""
        return self.request("DELETE", f"/zpods/{ref}/components/{hostname}")

    def check_zpod(self, ref: str | int) -> dict:
        """Compare the zPod with vCenter; the finished job's `result["drift"]` lists
        the differences."""
        return self.request("POST", f"/zpods/{ref}/check")

    # libraries and components
    def create_library(self, **fields) -> dict:
        return self.request("POST", "/libraries", json=fields)

    def libraries(self) -> list[dict]:
        return self.request("GET", "/libraries")

    def library(self, ref: str | int) -> dict:
        return self.request("GET", f"/libraries/{ref}")

    def delete_library(self, ref: str | int) -> None:
        self.request("DELETE", f"/libraries/{ref}")

    def sync_library(self, ref: str | int) -> dict:
        return self.request("POST", f"/libraries/{ref}/sync")

    def components(self, **filters) -> list[dict]:
        return self.request("GET", "/components",
                            params={k: v for k, v in filters.items() if v is not None})

    def component(self, uid: str) -> dict:
        return self.request("GET", f"/components/{uid}")

    def enable_component(self, uid: str) -> dict:
        return self.request("POST", f"/components/{uid}/enable")

    def disable_component(self, uid: str) -> dict:
        return self.request("POST", f"/components/{uid}/disable")

    def stage_component(self, uid: str, endpoint: str) -> dict:
        return self.request("POST", f"/components/{uid}/stage", json={"endpoint": endpoint})

    # users and tokens
    def me(self) -> dict:
        return self.request("GET", "/users/me")

    def users(self) -> list[dict]:
        return self.request("GET", "/users")

    def create_user(self, **fields) -> dict:
        return self.request("POST", "/users", json=fields)

    def update_user(self, ref: str | int, **fields) -> dict:
        return self.request("PATCH", f"/users/{ref}", json=fields)

    def tokens(self, user: str | int) -> list[dict]:
        return self.request("GET", f"/users/{user}/tokens")

    def create_token(self, user: str | int, **fields) -> dict:
        return self.request("POST", f"/users/{user}/tokens", json=fields)

    def revoke_token(self, user: str | int, token_id: int) -> None:
        self.request("DELETE", f"/users/{user}/tokens/{token_id}")

    # groups
    def groups(self) -> list[dict]:
        return self.request("GET", "/groups")

    def group(self, ref: str | int) -> dict:
        return self.request("GET", f"/groups/{ref}")

    def create_group(self, name: str, description: str = "",
                     members: list[str] | None = None) -> dict:
        return self.request("POST", "/groups", json={"name": name, "description": description,
                                                     "members": members or []})

    def update_group(self, ref: str | int, **fields) -> dict:
        return self.request("PATCH", f"/groups/{ref}", json=fields)

    def delete_group(self, ref: str | int) -> None:
        self.request("DELETE", f"/groups/{ref}")

    def add_group_member(self, ref: str | int, user: str) -> dict:
        return self.request("POST", f"/groups/{ref}/members", json={"user": user})

    def remove_group_member(self, ref: str | int, user: str) -> None:
        self.request("DELETE", f"/groups/{ref}/members/{user}")

    # profiles
    def profiles(self) -> list[dict]:
        return self.request("GET", "/profiles")

    def profile(self, name: str) -> dict:
        return self.request("GET", f"/profiles/{name}")

    def create_profile(self, document: str, yaml_body: bool = True) -> dict:
        """`document` as YAML (or JSON) text."""
        kind = "application/yaml" if yaml_body else "application/json"
        return self.request("POST", "/profiles", content=document,
                            headers={"Content-Type": kind})

    def patch_profile(self, name: str, overlay: str, yaml_body: bool = True) -> dict:
        kind = "application/yaml" if yaml_body else "application/json"
        return self.request("PATCH", f"/profiles/{name}", content=overlay,
                            headers={"Content-Type": kind})

    def delete_profile(self, name: str) -> None:
        self.request("DELETE", f"/profiles/{name}")

    # chat channels
    def create_channel(self, **fields) -> dict:
        return self.request("POST", "/channels", json=fields)

    def channels(self) -> list[dict]:
        return self.request("GET", "/channels")

    def channel(self, ref: str | int) -> dict:
        return self.request("GET", f"/channels/{ref}")

    def delete_channel(self, ref: str | int) -> None:
        self.request("DELETE", f"/channels/{ref}")

    def test_channel(self, ref: str | int) -> dict:
        return self.request("POST", f"/channels/{ref}/test")

    def deliveries(self, ref: str | int) -> list[dict]:
        return self.request("GET", f"/channels/{ref}/deliveries")

    # webhook triggers
    def create_trigger(self, **fields) -> dict:
        """Add a trigger; the answer holds its secret, the only time it is shown."""
        return self.request("POST", "/triggers", json=fields)

    def triggers(self) -> list[dict]:
        return self.request("GET", "/triggers")

    def trigger(self, ref: str | int) -> dict:
        return self.request("GET", f"/triggers/{ref}")

    def update_trigger(self, ref: str | int, **fields) -> dict:
        return self.request("PATCH", f"/triggers/{ref}", json=fields)

    def delete_trigger(self, ref: str | int) -> None:
        self.request("DELETE", f"/triggers/{ref}")

    def trigger_deliveries(self, ref: str | int, limit: int = 50) -> list[dict]:
        return self.request("GET", f"/triggers/{ref}/deliveries", params={"limit": limit})

    # jobs and events
    def job(self, job_id: int) -> dict:
        return self.request("GET", f"/jobs/{job_id}")

    def retry_job(self, job_id: int) -> dict:
        """Run a failed job again from its failed step."""
        return self.request("POST", f"/jobs/{job_id}/retry")

    def jobs(self, status: str | None = None, limit: int = 50) -> list[dict]:
        params = {"limit": limit, **({"status": status} if status else {})}
        return self.request("GET", "/jobs", params=params)

    def job_events(self, job_id: int, after: int = 0, retries: int = 20) -> Iterator[dict]:
        """The job's events as they happen, from `after`; ends when the job ends.

        Reconnects with Last-Event-ID when the stream drops, so nothing is
        missed or repeated; falls back to polling a server without streams.
        """
        failures = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if after:
                headers["Last-Event-ID"] = str(after)
            try:
                with connect_sse(self.http, "GET", f"/jobs/{job_id}/events",
                                 headers=headers, timeout=httpx.Timeout(30, read=60)) as source:
                    if source.response.status_code == 204:
                        return  # the job ended before `after`: nothing more to come
                    if source.response.status_code >= 400:
                        self._raise_for(source.response)
                    if "text/event-stream" not in source.response.headers.get("content-type", ""):
                        yield from self._poll_events(job_id, after)
                        return
                    for sse in source.iter_sse():
                        if sse.event == "end":
                            return
                        if not sse.id:
                            continue
                        after = int(sse.id)
                        failures = 0
                        yield json.loads(sse.data)
            except httpx.TransportError:
                failures += 1
                if failures > retries:
                    raise
                time.sleep(min(5.0, 0.2 * 2 ** failures))

    def _poll_events(self, job_id: int, after: int) -> Iterator[dict]:
        while True:
            job = self.job(job_id)
            for event in job["events"]:
                if event["seq"] > after:
                    after = event["seq"]
                    yield event
            if job["status"] in FINISHED:
                return
            time.sleep(0.5)

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        response.read()
        try:
            envelope = response.json()
        except ValueError:
            envelope = {"message": response.text[:200]}
        raise ApiError(response.status_code, envelope)

    def wait_for_job(self, job_id: int, on_event: Callable[[dict], None] | None = None) -> dict:
        """Follow the job's events until it ends; return the finished job."""
        for event in self.job_events(job_id):
            if on_event:
                on_event(event)
        return self.job(job_id)
