"""Helpers for notifier tests: a job to talk about, events for it, channels to post to."""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.db import transaction
from shared.events import EventRecorder, notifier_hook
from shared.models import Delivery, Endpoint, Job, Zpod, utcnow


@dataclass
class FakeJob:
    """A job row (and its zPod) whose events a test emits by hand, as a deployer would."""

    recorder: EventRecorder
    job_id: int
    zpod_id: int

    def emit(self, kind: str, message: str, percent: int | None = None) -> dict:
        return self.recorder.emit(self.job_id, self.zpod_id, kind, message, percent)


def seed_job(ctx, zpod_name: str = "lab1", kind: str = "deploy", error: str | None = None,
             notify: bool = True) -> FakeJob:
    with transaction(ctx.sessions) as session:
        endpoint = session.query(Endpoint).filter_by(name="vc").one_or_none()
        if endpoint is None:
            endpoint = Endpoint(name="vc", host="vc.example.com", username="u",
                                password_encrypted=ctx.secrets.encrypt("endpoint-pass-XYZ"),
                                datacenter="DC", cluster="C", datastore="DS", switch="SW",
                                supernet="10.96.0.0/16", vlan_min=100, vlan_max=199)
            session.add(endpoint)
            session.flush()
        zpod = Zpod(name=zpod_name, live_name=zpod_name, endpoint_id=endpoint.id,
                    profile="minimal", domain=f"{zpod_name}.lab",
                    password_encrypted=ctx.secrets.encrypt("zpod-pass-XYZ"))
        session.add(zpod)
        session.flush()
        job = Job(kind=kind, zpod_id=zpod.id, status="running", started_at=utcnow(), error=error)
        session.add(job)
        session.flush()
        job_id, zpod_id = job.id, zpod.id
    import redis

    recorder = EventRecorder(ctx.sessions, redis.Redis.from_url(ctx.settings.redis_url),
                             ctx.settings.events_stream,
                             notify=notifier_hook(ctx.celery) if notify else None)
    return FakeJob(recorder, job_id, zpod_id)


def add_channel(client, name: str, kind: str, url: str, kinds: list[str] | None = None,
                **extra) -> dict:
    body = {"name": name, "kind": kind, "url": url,
            "subscriptions": [{"kinds": kinds} if kinds else {}], **extra}
    response = client.post("/api/v1/channels", json=body)
    assert response.status_code == 201, response.json
    return response.json


def wait_deliveries(ctx, channel_id: int, predicate, timeout: float = 30.0) -> list[Delivery]:
    deadline = time.monotonic() + timeout
    while True:
        with ctx.sessions() as session:
            rows = session.query(Delivery).filter_by(channel_id=channel_id) \
                .order_by(Delivery.id).all()
        if predicate(rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries never matched: "
                                 f"{[(d.kind, d.status, d.attempts, d.error) for d in rows]}")
        time.sleep(0.05)
