"""Routing one event to the channels that subscribed to it, as deliveries to make.

An event is routed once: it is claimed by setting `events.notified_at` in the
same transaction that records its deliveries, so a second `notifier.event`
task (a redelivery, the sweep) finds it claimed and does nothing. The events
of one job are routed in order: a task also routes, first, the job's earlier
events still waiting for their own task (which then find them claimed), so a
job's messages are made, and sent, in the order of its events.

Start, success, failure (and the other IMMEDIATE kinds) become a message at
once. Progress (step_started, step_finished, ...) is coalesced per job and
channel: at most one message per `settings.notify_interval`, and the message
waiting for its slot always shows the newest state when it goes out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.db import transaction
from shared.events import EventKind
from shared.models import (
    Channel,
    ChatThread,
    Delivery,
    DeliveryStatus,
    Event,
    Subscription,
    Zpod,
    utcnow,
)

IMMEDIATE = frozenset({EventKind.JOB_STARTED, EventKind.JOB_SUCCEEDED, EventKind.JOB_FAILED,
                       EventKind.ZPOD_DESTROYED, EventKind.LEASE_EXPIRING,
                       EventKind.LEASE_EXPIRED, "test"})
WAITING = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)

Planned = tuple[int, float]  # (delivery id, seconds until it is due)


def zpod_owner(zpod: Zpod | None) -> str | None:
    # The owner's user name; zPods made before users existed have none.
    return zpod.owner if zpod is not None else None


def wants(subscription: Subscription, event: Event, zpod: Zpod | None) -> bool:
    if event.kind not in subscription.kinds:
        return False
    if subscription.zpod is not None:
        return zpod is not None and zpod.name == subscription.zpod
    if subscription.owner is not None:
        return zpod is not None and zpod_owner(zpod) == subscription.owner
    return True


def subscribed_channels(session: Session, event: Event) -> list[int]:
    zpod = session.get(Zpod, event.zpod_id) if event.zpod_id else None
    rows = session.execute(select(Subscription, Channel.id).join(Channel).where(
        Channel.enabled.is_(True)).order_by(Channel.id))
    return sorted({channel_id for sub, channel_id in rows if wants(sub, event, zpod)})


def route_event(sessions, event_id: int, interval: float) -> list[Planned]:
    """Claim the event (and the job's earlier unrouted ones) and record their deliveries;
    returns the deliveries to queue."""
    now = utcnow()
    planned: list[Planned] = []
    with transaction(sessions) as session:
        event = session.get(Event, event_id)
        if event is None or event.notified_at is not None:
            return []
        pending = session.scalars(select(Event).where(
            Event.job_id == event.job_id, Event.seq <= event.seq, Event.notified_at.is_(None))
            .order_by(Event.seq))
        for each in list(pending):
            claimed = session.execute(update(Event).where(
                Event.id == each.id, Event.notified_at.is_(None)).values(notified_at=now))
            if claimed.rowcount != 1:  # routed meanwhile by another task
                continue
            planned += [plan(session, channel_id, each, now, interval)
                        for channel_id in subscribed_channels(session, each)]
    return [p for p in planned if p is not None]


def _thread(session: Session, channel_id: int, job_id: int) -> ChatThread:
    thread = session.scalar(select(ChatThread).where(
        ChatThread.channel_id == channel_id, ChatThread.job_id == job_id).with_for_update())
    if thread is None:
        thread = ChatThread(channel_id=channel_id, job_id=job_id, latest_seq=0, sent_seq=0)
        session.add(thread)
        session.flush()  # a concurrent insert fails here; the task is retried
    return thread


def plan(session: Session, channel_id: int, event: Event, now: datetime,
         interval: float) -> Planned | None:
    thread = _thread(session, channel_id, event.job_id)
    if event.seq > thread.latest_seq:
        thread.latest_seq, thread.latest_event_id = event.seq, event.id
    waiting = session.get(Delivery, thread.flush_delivery_id) if thread.flush_delivery_id else None
    if waiting is not None and waiting.status not in WAITING:
        waiting = None
    if event.kind in IMMEDIATE:
        if waiting is not None:
            # This message carries a newer state than the progress update waiting.
            waiting.status, waiting.finished_at = DeliveryStatus.SUPERSEDED, now
            thread.flush_delivery_id = None
        # It takes this interval's slot (its claim stamps the real time again).
        thread.last_sent_at = now
        return _new(session, channel_id, thread, event, now, now)
    if waiting is not None:
        waiting.coalesced += 1
        waiting.event_id = thread.latest_event_id
        return None
    due = now
    if thread.last_sent_at is not None:
        due = max(now, thread.last_sent_at + timedelta(seconds=interval))
    planned = _new(session, channel_id, thread, event, due, now)
    thread.flush_delivery_id = planned[0]
    return planned


def _new(session: Session, channel_id: int, thread: ChatThread, event: Event, due: datetime,
         now: datetime) -> Planned:
    delivery = Delivery(channel_id=channel_id, thread_id=thread.id, job_id=event.job_id,
                        event_id=event.id, kind=event.kind, due_at=due, log=[])
    session.add(delivery)
    session.flush()
    return delivery.id, max(0.0, (due - now).total_seconds())
