"""POST /api/v1/hooks/<trigger>: webhook deliveries from GitHub, GitLab and others.

No bearer token: the sender proves itself with the trigger's secret
(services.api.hook_sources). Every delivery is recorded with its outcome,
never with its body. The order of checks is the order of cost and trust: the
trigger exists and is enabled (404), the body is not too large (413), the
signature holds (401, one message whatever was wrong), the delivery id is new
(409: the unique (trigger, delivery id) row is inserted and committed before
anything acts, so of two copies arriving at once exactly one builds), the
payload is readable (422), it passes the filter (200 with the reason), then
the action (202, or the refusal of create/destroy with its own code).
"""

from __future__ import annotations

import hashlib
import json

from flask import g, request
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from services.api.context import api_context, db
from services.api.hook_sources import SOURCE_BY_NAME, Unreadable
from services.api.trigger_actions import Outcome, act
from services.api.trigger_rules import filtered_out
from services.api.trigger_schemas import HookAnswerSchema
from services.api.triggers import find_trigger
from shared.crypto import SecretError
from shared.models import Trigger, TriggerDelivery

blp = Blueprint("hooks", __name__, description="Webhook deliveries (signed, no token)")

BAD_SIGNATURE = "invalid or missing signature"


def _body(limit: int) -> bytes | None:
    """The raw body, or None when it is larger than `limit` (announced or actual)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    # One byte over the limit: a stream without Content-Length (chunked) that is cut
    # there, rather than refused, still shows itself too large.
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None
    return body if len(body) <= limit else None


class Delivery:
    """The delivery's record, written as the checks go."""

    def __init__(self, trigger: Trigger, delivery_id: str | None, event: str | None):
        self.trigger = trigger
        self.given = {"trigger_id": trigger.id, "delivery_id": (delivery_id or "")[:200] or None,
                      "event": (event or "")[:64] or None}
        self.row = self._new_row()

    def _new_row(self) -> TriggerDelivery:
        return TriggerDelivery(**self.given, outcome="received", status_code=102)

    def claim(self, key: str) -> TriggerDelivery | None:
        """Insert the row holding `key`; the earlier delivery when the key is taken."""
        session = db()
        self.row.dedup_key = key[:200]
        session.add(self.row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            self.row = self._new_row()  # the replay's own record, holding no key
            return session.scalar(select(TriggerDelivery).where(
                TriggerDelivery.trigger_id == self.trigger.id,
                TriggerDelivery.dedup_key == key[:200])) or self.row
        return None

    def end(self, result: Outcome):
        """Record the outcome and answer: a 2xx body, or the error envelope."""
        row = self.row
        row.outcome, row.status_code, row.reason = result.outcome, result.status, result.reason
        if result.zpod is not None:
            row.zpod_id, row.zpod_name = result.zpod.id, result.zpod.name
        if result.job is not None:
            row.job_id = result.job.id
        if result.status >= 400:
            row.dedup_key = None  # the sender may deliver it again
        session = db()
        session.add(row)
        session.commit()
        if result.status >= 400:
            abort(result.status, message=result.reason)
        return _answer(row), result.status

    def fail(self, status: int, outcome: str, reason: str):
        return self.end(Outcome(status, outcome, reason))


def _answer(row: TriggerDelivery) -> dict:
    answer = {"delivery": row.id, "outcome": row.outcome, "message": row.reason,
              "zpod": row.zpod_name, "job_id": row.job_id}
    if row.zpod_id is not None:
        answer["zpod_url"] = f"/api/v1/zpods/{row.zpod_id}"
    if row.job_id is not None:
        answer["job_url"] = f"/api/v1/jobs/{row.job_id}"
    return answer


@blp.route("/<ref>", methods=["POST"])
@blp.doc(security=[])
@blp.response(202, HookAnswerSchema, description="acted: the zPod and job")
@blp.alt_response(200, schema=HookAnswerSchema,
                  description="nothing to do: ping, filtered out, zPod kept")
def receive(ref):
    """Receive a delivery for a trigger (by name or id), signed with its secret.

    GitHub: `X-Hub-Signature-256`, `X-GitHub-Event`, `X-GitHub-Delivery`.
    GitLab: `X-Gitlab-Token`, `X-Gitlab-Event`, `X-Gitlab-Event-UUID`.
    Generic: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`). Answers 401 (signature), 404 (unknown or disabled
    trigger), 409 (a delivery id seen before, or a conflict), 413 (body too
    large), 422 (unreadable payload or a zPod request with problems).
    """
    trigger = find_trigger(ref)
    if trigger is None:
        abort(404, message=f"trigger '{ref}' not found")
    source = SOURCE_BY_NAME[trigger.source]
    record = Delivery(trigger, source.delivery_id(request.headers),
                      source.event_name(request.headers))
    if not trigger.enabled or not trigger.owner_user.enabled:
        return record.fail(404, "disabled", f"trigger '{ref}' is disabled")
    settings = api_context().settings
    body = _body(settings.hook_max_body)
    if body is None:
        return record.fail(413, "too_large", f"the body is larger than {settings.hook_max_body}"
                                             " bytes (the hook_max_body setting)")
    try:
        secret = api_context().secrets.decrypt(trigger.secret_encrypted)
    except SecretError:
        return record.fail(401, "rejected", BAD_SIGNATURE)
    if not source.verify(secret, request.headers, body):
        return record.fail(401, "rejected", BAD_SIGNATURE)
    return _verified(record, source, body)


def _verified(record: Delivery, source, body: bytes):
    key = record.row.delivery_id or f"sha256:{hashlib.sha256(body).hexdigest()}"
    earlier = record.claim(key)
    if earlier is not None:
        when = earlier.received_at.isoformat(timespec="seconds")
        return record.fail(409, "replay", f"delivery '{key}' was received before (delivery "
                                          f"record {earlier.id}, at {when}); nothing done")
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise Unreadable("the payload is not a JSON object")
        event_name = source.event_name(request.headers, payload)
        record.row.event = event_name and event_name[:64]
        event = source.parse(event_name, payload)
        if event.kind == "ping":
            return record.end(Outcome(200, "pong", "pong"))
        reason = filtered_out(record.trigger, event)
    except (ValueError, Unreadable) as exc:
        return record.fail(422, "unreadable", f"the payload cannot be read: {exc}")
    if reason is not None:
        return record.end(Outcome(200, "filtered", f"filtered out: {reason}"))
    g.user = record.trigger.owner_user
    return record.end(act(db(), record.trigger, event))
