"""Sending one delivery: claim it, post it, record the outcome, plan a retry.

No database transaction is open while the HTTP request runs. A delivery is
claimed (status `sending`, with a lease) before the post and settled after
it; a worker that dies mid-post leaves a lease that expires, and the sweep
sends the delivery again (at least once, never silently dropped).

The messages of one job on one channel go out one at a time and in the
order they were made: Discord's first post must have returned the message id
before any edit, and nobody wants "succeeded" above "started".

Retries: time-outs, connection errors, 429 and 5xx, with exponential backoff
and jitter, or after `Retry-After` when the service says so; other answers
are permanent. Each attempt is kept in the delivery's log.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from services.notifier.messages import Notice, channel_test_notice, job_notice
from services.notifier.routing import IMMEDIATE, Planned
from services.notifier.transport import Outcome, Target, post
from shared.channels import Unresolvable, UnsafeUrl, check_url
from shared.db import transaction
from shared.models import Channel, ChatThread, Delivery, DeliveryStatus, Event, utcnow

log = logging.getLogger(__name__)

UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING)
EARLY_SLACK = timedelta(milliseconds=10)
LOG_ENTRIES = 20


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: half the step guaranteed, half random."""
    step = min(cap, base * 2 ** (attempt - 1))
    return step / 2 + random.uniform(0, step / 2)


@dataclass
class Claim:
    """What one attempt needs, read in the claiming transaction."""

    delivery_id: int
    channel_id: int
    channel_name: str
    target: Target
    notice: Notice
    attempt: int


def _blocked_by(session, delivery: Delivery) -> Delivery | None:
    """An earlier unfinished delivery of the same thread, if any."""
    if delivery.thread_id is None:
        return None
    return session.scalar(select(Delivery).where(
        Delivery.thread_id == delivery.thread_id, Delivery.id < delivery.id,
        Delivery.status.in_(UNFINISHED)).order_by(Delivery.id).limit(1))


def _claimable(delivery: Delivery | None, now: datetime) -> bool:
    if delivery is None:
        return False
    if delivery.status == DeliveryStatus.SENDING:
        return delivery.lease_until is not None and delivery.lease_until < now
    return delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def _finish(delivery: Delivery, status: str, now: datetime, error: str | None = None) -> None:
    delivery.status, delivery.finished_at, delivery.lease_until = status, now, None
    if error:
        delivery.error = error


def claim(ctx, delivery_id: int) -> Claim | Planned | None:
    """Take the delivery for one attempt; or (id, delay) to look again later; or None."""
    settings, now = ctx.settings, utcnow()
    with transaction(ctx.sessions) as session:
        delivery = session.get(Delivery, delivery_id, with_for_update=True)
        if not _claimable(delivery, now):
            return None
        if delivery.due_at > now + EARLY_SLACK:
            return delivery_id, (delivery.due_at - now).total_seconds()
        earlier = _blocked_by(session, delivery)
        if earlier is not None:
            wait = (earlier.due_at - now).total_seconds()
            return delivery_id, min(5.0, max(0.2, wait))
        channel = session.get(Channel, delivery.channel_id)
        if not channel.enabled:
            _finish(delivery, DeliveryStatus.FAILED, now, "the channel is disabled")
            return None
        thread = session.get(ChatThread, delivery.thread_id) if delivery.thread_id else None
        slot = _next_slot(delivery, thread, settings.notify_interval)
        if slot is not None and slot > now + EARLY_SLACK:
            delivery.due_at = slot  # the previous message went out later than planned
            return delivery_id, (slot - now).total_seconds()
        notice = _notice(session, delivery, thread, channel, settings.public_url)
        if notice is None:
            _finish(delivery, DeliveryStatus.SUPERSEDED, now)
            _free_slot(thread, delivery)
            return None
        delivery.status, delivery.attempts = DeliveryStatus.SENDING, delivery.attempts + 1
        delivery.lease_until = now + timedelta(seconds=2 * settings.notify_timeout + 30)
        if thread is not None:
            # The slot is taken now: progress arriving from here on waits a full interval.
            thread.last_sent_at = now
            _free_slot(thread, delivery)
        secret = channel.secret_encrypted and ctx.secrets.decrypt(channel.secret_encrypted)
        target = Target(channel.kind, ctx.secrets.decrypt(channel.url_encrypted), secret or None,
                        thread.message_ref if thread else None)
        return Claim(delivery.id, channel.id, channel.name, target, notice, delivery.attempts)


def _next_slot(delivery: Delivery, thread: ChatThread | None, interval: float):
    """When a progress update may go out: one interval after the job's last message."""
    if thread is None or delivery.kind in IMMEDIATE or thread.last_sent_at is None:
        return None
    return thread.last_sent_at + timedelta(seconds=interval)


def _free_slot(thread: ChatThread | None, delivery: Delivery) -> None:
    if thread is not None and thread.flush_delivery_id == delivery.id:
        thread.flush_delivery_id = None


def _notice(session, delivery: Delivery, thread: ChatThread | None, channel: Channel,
            public_url: str) -> Notice | None:
    """What to say; None when the chat already shows this state or a newer one."""
    if delivery.kind == "test" or thread is None:
        return channel_test_notice(channel.name)
    if delivery.kind in IMMEDIATE:
        event = session.get(Event, delivery.event_id)
    else:  # a coalesced update: the newest state wins
        event = session.get(Event, thread.latest_event_id)
    if event is None or event.seq <= thread.sent_seq:
        return None
    return job_notice(session, event, public_url)


def attempt(ctx, http, claimed: Claim) -> Outcome:
    """One HTTP attempt, after checking the URL again (its DNS may have changed)."""
    try:
        check_url(claimed.target.url, ctx.settings.channel_blocklist)
    except Unresolvable as exc:
        return Outcome(False, retryable=True, error=str(exc))
    except UnsafeUrl as exc:
        return Outcome(False, retryable=False, error=str(exc))
    return post(http, claimed.target, claimed.notice, f"msg_nestlab_{claimed.delivery_id}",
                   ctx.settings.notify_timeout)


def settle(ctx, claimed: Claim, outcome: Outcome) -> Planned | None:
    """Record the attempt; returns (id, delay) when it is to be tried again."""
    settings, now = ctx.settings, utcnow()
    with transaction(ctx.sessions) as session:
        delivery = session.get(Delivery, claimed.delivery_id, with_for_update=True)
        if delivery is None:  # the channel was deleted meanwhile
            return None
        thread = session.get(ChatThread, delivery.thread_id) if delivery.thread_id else None
        entry = {"at": now.isoformat(), "attempt": claimed.attempt,
                 "status_code": outcome.status_code, "error": outcome.error}
        delivery.status_code, delivery.error = outcome.status_code, outcome.error
        retry = None
        if outcome.ok:
            _finish(delivery, DeliveryStatus.SUCCEEDED, now)
            if thread is not None:
                thread.last_sent_at = now  # the interval runs from when it reached the chat
                thread.sent_seq = max(thread.sent_seq, claimed.notice.seq)
                thread.message_ref = outcome.message_ref or thread.message_ref
        elif outcome.retryable and claimed.attempt < settings.notify_retry_max:
            delay = outcome.retry_after
            if delay is None:
                delay = backoff(claimed.attempt, settings.notify_retry_base,
                                settings.notify_retry_cap)
            entry["retry_in"] = round(delay, 3)
            delivery.status, delivery.lease_until = DeliveryStatus.RETRYING, None
            delivery.due_at = now + timedelta(seconds=delay)
            if thread is not None and delivery.kind not in IMMEDIATE:
                thread.flush_delivery_id = thread.flush_delivery_id or delivery.id
            retry = (delivery.id, delay)
        else:
            _finish(delivery, DeliveryStatus.FAILED, now)
        delivery.log = [*(delivery.log or []), entry][-LOG_ENTRIES:]
    _log_outcome(claimed, outcome, retry)
    return retry


def _log_outcome(claimed: Claim, outcome: Outcome, retry: Planned | None) -> None:
    # Channel name and ids only: the URL is the channel's credential.
    what = f"delivery {claimed.delivery_id} to channel '{claimed.channel_name}' " \
           f"({claimed.target.kind}, attempt {claimed.attempt})"
    if outcome.ok:
        log.info("%s: sent (HTTP %s)", what, outcome.status_code)
    elif retry is not None:
        log.warning("%s: %s; retrying in %.1fs", what, outcome.error, retry[1])
    else:
        log.warning("%s: %s; giving up", what, outcome.error)


def deliver(ctx, http, delivery_id: int) -> Planned | None:
    """Run one delivery attempt if it is due; returns what to queue next, if anything."""
    claimed = claim(ctx, delivery_id)
    if not isinstance(claimed, Claim):
        return claimed
    return settle(ctx, claimed, attempt(ctx, http, claimed))


def overdue(ctx, older_than: float, limit: int = 500) -> list[int]:
    """Deliveries whose task seems lost: due long ago, or a sending lease expired."""
    now = utcnow()
    stale = now - timedelta(seconds=older_than)
    with ctx.sessions() as session:
        waiting = select(Delivery.id).where(
            Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.RETRYING]),
            Delivery.due_at < stale)
        expired = select(Delivery.id).where(Delivery.status == DeliveryStatus.SENDING,
                                            Delivery.lease_until < now)
        ids = set(session.scalars(waiting.limit(limit))) | set(session.scalars(expired))
    return sorted(ids)


def unrouted(ctx, older_than: float, limit: int = 500) -> list[int]:
    """Events stored but never routed: their `notifier.event` task was lost."""
    stale = utcnow() - timedelta(seconds=older_than)
    with ctx.sessions() as session:
        return list(session.scalars(select(Event.id).where(
            Event.notified_at.is_(None), Event.created_at < stale)
            .order_by(Event.id).limit(limit)))
