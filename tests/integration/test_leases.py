"""zPod leases: set on request, extended within `lease_max` by owners and admins only,
warned once ahead of the end, and ended by a destroy job on the simulator."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from services.deployer.leases import expire_leases
from shared.models import AuditEntry, Event, Job, JobStatus, Zpod
from shared.worker_context import WorkerContext
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job


@pytest.fixture
def endpoint(client, simulator):
    assert client.post("/api/v1/endpoints", json=endpoint_body(simulator)).status_code == 201
    return "sim"


@pytest.fixture
def ctx(app, settings):
    return WorkerContext(settings, app.extensions["nestlab"].celery)


def deploy(client, name: str, **fields) -> dict:
    response = client.post("/api/v1/zpods", json={"name": name, "endpoint": "sim",
                                                  "profile": "minimal", **fields})
    assert response.status_code == 202, response.json
    return response.json


def expiry(shown: dict) -> datetime:
    return datetime.fromisoformat(shown["lease_expires_at"])


def settle(app, zpod_id: int) -> None:
    """End the zPod's (unworked) deploy job, as if a worker had run it."""
    with app.extensions["nestlab"].sessions() as session, session.begin():
        session.execute(update(Job).where(Job.zpod_id == zpod_id)
                        .values(status=JobStatus.SUCCEEDED))
        session.execute(update(Zpod).where(Zpod.id == zpod_id).values(status="ready"))


def events(app, kind: str) -> list[Event]:
    with app.extensions["nestlab"].sessions() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind)))


def test_lease_on_request_within_lease_max(client, endpoint):
    before = datetime.now(UTC)
    zpod = deploy(client, "leased", lease="PT4H")
    assert before + timedelta(hours=4) <= expiry(zpod) <= datetime.now(UTC) + timedelta(hours=4)
    assert deploy(client, "forever")["lease_expires_at"] is None
    assert deploy(client, "seconds", lease=3600)["lease_expires_at"] is not None
    too_long = client.post("/api/v1/zpods", json={"name": "long", "endpoint": "sim",
                                                  "profile": "minimal", "lease": "P8D"})
    assert too_long.status_code == 422 and "lease" in too_long.json["errors"]["json"]
    garbage = client.post("/api/v1/zpods", json={"name": "bad", "endpoint": "sim",
                                                 "profile": "minimal", "lease": "soon"})
    assert garbage.status_code == 422


def test_extend_limits_rights_and_audit(app, client, endpoint):
    zpod = deploy(client, "lab", lease="PT1H")
    extended = client.post("/api/v1/zpods/lab/lease", json={"extend_by": "2h"})
    assert extended.status_code == 200, extended.json
    assert expiry(extended.json) - expiry(zpod) == timedelta(hours=2)
    target = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    moved = client.post("/api/v1/zpods/lab/lease", json={"expires_at": target.isoformat()})
    assert moved.status_code == 200 and expiry(moved.json) == target
    beyond = client.post("/api/v1/zpods/lab/lease", json={"extend_by": "P5D"})
    assert beyond.status_code == 422 and "lease_max" in beyond.json["message"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert client.post("/api/v1/zpods/lab/lease", json={"expires_at": past}).status_code == 422
    assert client.post("/api/v1/zpods/lab/lease", json={}).status_code == 422
    both = {"extend_by": "1h", "expires_at": target.isoformat()}
    assert client.post("/api/v1/zpods/lab/lease", json=both).status_code == 422
    assert client.get("/api/v1/zpods/lab").json["lease_expires_at"] == moved.json[
        "lease_expires_at"]

    assert client.post("/api/v1/users", json={"name": "eve"}).status_code == 201
    token = client.post("/api/v1/users/eve/tokens", json={"name": "t"}).json["token"]
    eve = app.test_client()
    eve.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    assert eve.post("/api/v1/zpods/lab/lease", json={"extend_by": "1h"}).status_code == 404
    assert client.post("/api/v1/zpods/lab/permissions",
                       json={"user": "eve", "role": "viewer"}).status_code == 201
    assert eve.post("/api/v1/zpods/lab/lease", json={"extend_by": "1h"}).status_code == 403
    with app.extensions["nestlab"].sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.resource == "zpods", AuditEntry.path == "/api/v1/zpods/lab/lease"))
        assert list(actions).count("lease") == 8  # failures too


def test_warning_goes_out_once_per_lease_even_with_two_ticks(app, client, endpoint, ctx):
    zpod = deploy(client, "soon", lease="PT30M")
    deploy(client, "later", lease="PT3H")
    results = []
    ticks = [threading.Thread(target=lambda: results.append(expire_leases(ctx)))
             for _ in range(2)]
    for tick in ticks:
        tick.start()
    for tick in ticks:
        tick.join(60)
    assert sum(r["warned"] for r in results) == 1 and sum(r["expired"] for r in results) == 0
    assert expire_leases(ctx)["warned"] == 0
    [warning] = events(app, "lease_expiring")
    assert warning.job_id == zpod["job_id"] and "soon" in warning.message
    # A new lease is a new warning.
    assert client.post("/api/v1/zpods/soon/lease", json={"extend_by": "PT10M"}).status_code == 200
    assert expire_leases(ctx)["warned"] == 1
    assert len(events(app, "lease_expiring")) == 2


def test_two_ticks_at_expiry_make_one_destroy_job(app, client, endpoint, ctx):
    zpod = deploy(client, "ending", lease="PT1H")
    now = datetime.now(UTC)
    # The deploy job still runs: the zPod is left for a later tick.
    assert expire_leases(ctx, now + timedelta(hours=2))["expired"] == 0
    settle(app, zpod["id"])
    results = []
    ticks = [threading.Thread(
        target=lambda: results.append(expire_leases(ctx, now + timedelta(hours=2))))
        for _ in range(3)]
    for tick in ticks:
        tick.start()
    for tick in ticks:
        tick.join(60)
    assert sum(r["expired"] for r in results) == 1
    with app.extensions["nestlab"].sessions() as session:
        destroys = session.scalar(select(func.count()).select_from(Job).where(
            Job.zpod_id == zpod["id"], Job.kind == "destroy"))
    assert destroys == 1
    [expired] = events(app, "lease_expired")
    shown = client.get("/api/v1/zpods/ending").json
    assert expired.job_id == shown["job_id"] and shown["status"] == "destroying"
    assert client.post("/api/v1/zpods/ending/lease", json={"extend_by": "1h"}).status_code == 409


def test_an_ended_lease_destroys_the_zpod_on_the_simulator(settings, client, worker, endpoint):
    """Through what beat schedules: `deployer.expire_leases`, run by a deployer worker."""
    from services.deployer.beat import create_beat
    from shared.contract import Tasks

    zpod = deploy(client, "brief", lease="3s")
    assert wait_for_job(client, zpod["job_id"], 120)["status"] == "succeeded"
    beat = create_beat(settings.with_overrides(lease_check_interval=30))
    entry = beat.conf.beat_schedule["expire-leases"]
    assert entry["task"] == Tasks.EXPIRE_LEASES.name and entry["schedule"] == 30
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/zpods/{zpod['id']}").json["status"] == "ready":
        assert time.monotonic() < deadline, "the lease never expired"
        beat.send_task(entry["task"], **entry["options"])
        time.sleep(1)
    shown = client.get(f"/api/v1/zpods/{zpod['id']}").json
    job = wait_for_job(client, shown["job_id"], 120)
    assert job["status"] == "succeeded" and job["events"][0]["kind"] == "lease_expired"
    assert client.get(f"/api/v1/zpods/{zpod['id']}").json["status"] == "destroyed"
    assert client.get("/api/v1/zpods").json == []


def test_lease_events_reach_a_chat_channel(app, client, endpoint, ctx, notifier, receiver):
    channel = client.post("/api/v1/channels", json={
        "name": "leases", "kind": "mattermost", "url": receiver.url("/mm"),
        "subscriptions": [{"kinds": ["lease_expiring", "lease_expired"]}]})
    assert channel.status_code == 201, channel.json
    zpod = deploy(client, "chatty", lease="PT20M")
    assert expire_leases(ctx)["warned"] == 1
    [warning] = receiver.wait_for(1)
    assert "chatty" in warning.body.decode() and "lease ends" in warning.body.decode()
    settle(app, zpod["id"])
    assert expire_leases(ctx, datetime.now(UTC) + timedelta(hours=1))["expired"] == 1
    posts = receiver.wait_for(2)
    assert "lease ended" in posts[1].body.decode()
