"""/api/v1/triggers: webhooks that build zPods, and the deliveries they received.

A trigger belongs to a user (its creator; admins may name another): its
zPods are made as that user, with that user's quotas and endpoint grants.
Users see and change their own triggers, admins all of them. The shared
secret is stored encrypted and shown once, in the create answer.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from services.api.access import current_user, is_admin
from services.api.context import api_context, db
from services.api.hook_sources import GENERIC
from services.api.trigger_schemas import (
    DeliveryQuerySchema,
    TriggerCreatedSchema,
    TriggerCreateSchema,
    TriggerDeliverySchema,
    TriggerFields,
    TriggerSchema,
)
from services.api.users import find_user
from shared.channels import new_webhook_secret, valid_webhook_secret
from shared.durations import format_duration
from shared.models import Trigger, TriggerDelivery

blp = Blueprint("triggers", __name__, description="Webhook triggers that build zPods")

COLUMNS = {"events": "events", "branches": "branches", "tags": "tags",
           "pr_actions": "pr_actions", "profile": "profile", "endpoint": "endpoint",
           "overlays": "overlays", "overrides": "overrides", "zpod_name": "name_pattern",
           "on_push": "on_push", "enabled": "enabled", "name": "name"}


def find_trigger(ref: str) -> Trigger | None:
    session = db()
    found = session.scalar(select(Trigger).where(Trigger.name == ref))
    if found is None and ref.isdigit():
        found = session.get(Trigger, int(ref))
    return found


def get_trigger_or_404(ref: str) -> Trigger:
    found = find_trigger(ref)
    if found is None or not (is_admin() or found.owner_id == current_user().id):
        abort(404, message=f"trigger '{ref}' not found")
    return found


def trigger_view(trigger: Trigger) -> Trigger:
    base = api_context().settings.public_url.rstrip("/")
    trigger.hook_url = f"{base}/api/v1/hooks/{trigger.name}"
    trigger.lease = (timedelta(seconds=trigger.lease_seconds)
                     if trigger.lease_seconds is not None else None)
    return trigger


def _owner(data: dict):
    if "owner" not in data:
        return current_user()
    if not is_admin():
        abort(403, message="only an admin may make a trigger for another user")
    user = find_user(data["owner"])
    if user is None:
        abort(422, errors={"json": {"owner": [f"unknown user '{data['owner']}'"]}})
    return user


def _secret(source: str, given: str | None) -> str:
    if source == GENERIC:
        if given is not None and not valid_webhook_secret(given):
            abort(422, errors={"json": {"secret": [
                "a Standard Webhooks secret: 'whsec_' and 24 to 64 bytes in base64"]}})
        return given or new_webhook_secret()
    return given or secrets.token_urlsafe(32)


def _lease_seconds(lease: timedelta | None) -> int:
    settings = api_context().settings
    seconds = int(lease.total_seconds()) if lease is not None else int(settings.trigger_lease)
    if seconds > settings.lease_max:
        limit = format_duration(timedelta(seconds=settings.lease_max))
        abort(422, errors={"json": {"lease": [f"at most {limit} (the lease_max setting)"]}})
    return seconds


def _name_free(name: str, trigger_id: int | None = None) -> None:
    found = db().scalar(select(Trigger.id).where(Trigger.name == name))
    if found is not None and found != trigger_id:
        abort(409, message=f"a trigger named '{name}' already exists")


def _apply(trigger: Trigger, data: dict) -> None:
    for field, column in COLUMNS.items():
        if field in data:
            setattr(trigger, column, data[field])
    if "lease" in data:
        trigger.lease_seconds = _lease_seconds(data["lease"])


@blp.route("")
class Triggers(MethodView):
    @blp.response(200, TriggerSchema(many=True))
    def get(self):
        """List triggers (yours; admins see all)."""
        statement = select(Trigger).order_by(Trigger.id)
        if not is_admin():
            statement = statement.where(Trigger.owner_id == current_user().id)
        return [trigger_view(t) for t in db().scalars(statement)]

    @blp.arguments(TriggerCreateSchema)
    @blp.response(201, TriggerCreatedSchema)
    def post(self, data):
        """Add a trigger. Its secret (given or generated) is in this answer only: give it
        to the sender (GitHub's webhook secret, GitLab's secret token, ...)."""
        _name_free(data["name"])
        secret = _secret(data["source"], data.pop("secret", None))
        trigger = Trigger(source=data["source"], owner_id=_owner(data).id,
                          secret_encrypted=api_context().secrets.encrypt(secret),
                          lease_seconds=_lease_seconds(data.get("lease")))
        _apply(trigger, {k: v for k, v in data.items() if k != "lease"})
        session = db()
        session.add(trigger)
        session.commit()
        session.refresh(trigger)
        view = trigger_view(trigger)
        view.secret = secret  # shown once, in this answer
        return view


@blp.route("/<ref>")
class TriggerByRef(MethodView):
    @blp.response(200, TriggerSchema)
    def get(self, ref):
        """Show a trigger, by name or id (never its secret)."""
        return trigger_view(get_trigger_or_404(ref))

    @blp.arguments(TriggerFields)
    @blp.response(200, TriggerSchema)
    def patch(self, data, ref):
        """Change a trigger: its filter, its action, its secret, whether it is enabled."""
        trigger = get_trigger_or_404(ref)
        if "name" in data:
            _name_free(data["name"], trigger.id)
        if "owner" in data:
            trigger.owner_id = _owner(data).id
        if "secret" in data:
            sealed = _secret(trigger.source, data["secret"])
            trigger.secret_encrypted = api_context().secrets.encrypt(sealed)
        _apply(trigger, data)
        db().commit()
        db().refresh(trigger)
        return trigger_view(trigger)

    @blp.response(204)
    def delete(self, ref):
        """Remove a trigger and its delivery history (its zPods stay)."""
        session = db()
        session.delete(get_trigger_or_404(ref))
        session.commit()


@blp.route("/<ref>/deliveries")
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, TriggerDeliverySchema(many=True))
def deliveries(query, ref):
    """What the trigger received, newest first: time, the sender's delivery id, event,
    outcome, HTTP status, the zPod and job it made, and why."""
    trigger = get_trigger_or_404(ref)
    return db().scalars(select(TriggerDelivery).where(TriggerDelivery.trigger_id == trigger.id)
                        .order_by(TriggerDelivery.id.desc()).limit(query["limit"])).all()
