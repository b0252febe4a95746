"""The notifier's Celery tasks, registered by name from the shared contract.

`notifier.event(event_id)` routes a stored event to the subscribed channels;
`notifier.deliver(delivery_id)` makes one attempt at one message. Both re-read
their row and check its state first, so a duplicate task changes nothing.
"""

from __future__ import annotations

import logging
import random
import threading

import requests
from celery import Celery
from sqlalchemy.exc import IntegrityError

from services.notifier.delivery import deliver
from services.notifier.routing import route_event
from shared.contract import Tasks
from shared.worker_context import context_for

log = logging.getLogger(__name__)
_local = threading.local()


def http_session() -> requests.Session:
    """One HTTP session per thread (kept-alive connections to the chat services)."""
    session = getattr(_local, "http", None)
    if session is None:
        session = _local.http = requests.Session()
    return session


def enqueue(app: Celery, delivery_id: int, delay: float = 0.0) -> None:
    try:
        app.send_task(Tasks.DELIVER.name, args=[delivery_id], queue=Tasks.DELIVER.queue,
                      countdown=delay if delay > 0 else None)
    except Exception as exc:  # noqa: BLE001 - the row is recorded; the sweep re-sends it
        log.warning("could not queue delivery %s (%s); the sweep will", delivery_id,
                    type(exc).__name__)


def register(app: Celery) -> None:
    @app.task(name=Tasks.NOTIFY_EVENT.name, bind=True, shared=False, max_retries=10)
    def route(self, event_id: int):
        ctx = context_for(self.app)
        try:
            planned = route_event(ctx.sessions, event_id, ctx.settings.notify_interval)
        except IntegrityError as exc:  # two events of a new job opened its thread at once
            raise self.retry(countdown=random.uniform(0.05, 0.3)) from exc
        for delivery_id, delay in planned:
            enqueue(self.app, delivery_id, delay)
        return len(planned)

    @app.task(name=Tasks.DELIVER.name, bind=True, shared=False)
    def deliver_one(self, delivery_id: int):
        follow_up = deliver(context_for(self.app), http_session(), delivery_id)
        if follow_up is not None:
            enqueue(self.app, *follow_up)
