"""Schemas of /api/v1/channels: chat channels, their subscriptions and deliveries."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.api.context import api_context
from shared.channels import ChannelKind, UnsafeUrl, check_url, discord_base, valid_webhook_secret
from shared.events import EventKind
from shared.models import DeliveryStatus

CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_KINDS = [EventKind.JOB_STARTED, EventKind.STEP_FINISHED, EventKind.JOB_SUCCEEDED,
                 EventKind.JOB_FAILED, EventKind.ZPOD_DESTROYED, EventKind.LEASE_EXPIRING]
SECRET_RULE = "a Standard Webhooks secret: 'whsec_' then 24 to 64 bytes in base64"


def validate_channel_url(kind: str, url: str) -> None:
    """Raise ValidationError if `url` is unsafe, or unusable for a channel of `kind`."""
    try:
        check_url(url, api_context().settings.channel_blocklist)
    except UnsafeUrl as exc:
        raise ValidationError(str(exc), "url") from exc
    if kind == ChannelKind.DISCORD and discord_base(url) is None:
        raise ValidationError("a Discord webhook URL ends in /webhooks/<id>/<token>", "url")


class SubscriptionCreateSchema(Schema):
    kinds = fields.List(fields.String(validate=validate.OneOf(EventKind.ALL)),
                        load_default=lambda: list(DEFAULT_KINDS),
                        validate=validate.Length(min=1),
                        metadata={"description": "event kinds to receive",
                                  "example": DEFAULT_KINDS})
    zpod = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                         metadata={"description": "only this zPod (by name)"})
    owner = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                          metadata={"description": "only the zPods of this owner "
                                                   "(a user name)"})

    @validates_schema
    def _scope(self, data: dict, **_) -> None:
        if data.get("zpod") and data.get("owner"):
            raise ValidationError("give a zpod or an owner (or neither, for all zPods)", "zpod")


class SubscriptionSchema(Schema):
    id = fields.Integer()
    kinds = fields.List(fields.String())
    zpod = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ChannelCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(
        CHANNEL_NAME, error="1-64 characters: letters, digits, '_', '.', '-'"))
    kind = fields.String(required=True, validate=validate.OneOf(ChannelKind.ALL))
    url = fields.String(required=True, load_only=True, validate=validate.Length(max=2000),
                        metadata={"description": "the incoming-webhook URL (a secret: stored "
                                                 "encrypted, shown masked)"})
    secret = fields.String(load_only=True, validate=validate.Length(max=200), metadata={
        "description": "webhook kind: the signing secret (default: a new one, returned once)"})
    enabled = fields.Boolean(load_default=True)
    subscriptions = fields.List(fields.Nested(SubscriptionCreateSchema), load_default=list)

    @validates_schema
    def _url_and_secret(self, data: dict, **_) -> None:
        if "url" in data and "kind" in data:
            validate_channel_url(data["kind"], data["url"])
        if "secret" in data and data.get("kind") != ChannelKind.WEBHOOK:
            raise ValidationError("only a webhook channel has a signing secret", "secret")

    @validates("secret")
    def _secret(self, value: str, **_) -> None:
        if not valid_webhook_secret(value):
            raise ValidationError(SECRET_RULE)


class ChannelPatchSchema(Schema):
    name = fields.String(validate=validate.Regexp(
        CHANNEL_NAME, error="1-64 characters: letters, digits, '_', '.', '-'"))
    url = fields.String(load_only=True, validate=validate.Length(max=2000))
    secret = fields.String(load_only=True, validate=validate.Length(max=200))
    enabled = fields.Boolean()

    @validates("secret")
    def _secret(self, value: str, **_) -> None:
        if not valid_webhook_secret(value):
            raise ValidationError(SECRET_RULE)


class ChannelSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    url = fields.String(attribute="url_masked", metadata={"description": "masked"})
    enabled = fields.Boolean()
    signed = fields.Function(lambda c: c.secret_encrypted is not None, metadata={
        "description": "posts carry Standard Webhooks signatures"})
    subscriptions = fields.List(fields.Nested(SubscriptionSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ChannelCreatedSchema(ChannelSchema):
    secret = fields.String(metadata={"description": "webhook kind: the signing secret, shown "
                                                    "only in this response"})


class DeliverySchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "the event kind, or 'test'"})
    status = fields.String(metadata={"description": ", ".join(DeliveryStatus)})
    job_id = fields.Integer(allow_none=True)
    event_id = fields.Integer(allow_none=True)
    attempts = fields.Integer()
    coalesced = fields.Integer(metadata={"description": "progress events folded into it"})
    status_code = fields.Integer(allow_none=True, metadata={"description": "last HTTP status"})
    error = fields.String(allow_none=True)
    log = fields.List(fields.Dict(), metadata={"description": "one entry per attempt"})
    due_at = fields.DateTime()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class DeliveryListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(list(DeliveryStatus)))
    job_id = fields.Integer()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
