"""Schemas of /api/v1/triggers and of webhook answers."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from services.api.hook_sources import EVENT_KINDS, PR_ACTIONS, SOURCES
from services.api.schemas import Duration
from services.api.trigger_rules import placeholders_problem

TRIGGER_NAME = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
PATTERNS = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                       validate=validate.Length(min=1, max=32))
POLICIES = ("replace", "keep")


class TriggerFields(Schema):
    """Everything a trigger's owner may set (all optional: a patch uses it as is)."""

    name = fields.String(validate=validate.Regexp(
        TRIGGER_NAME, error="1-64 characters: letters, digits, '_', '.', '-', starting with "
                            "a letter"))
    owner = fields.String(metadata={"description": "user name or id (admins only; "
                                                   "default: the caller)"})
    secret = fields.String(load_only=True, validate=validate.Length(min=16, max=200), metadata={
        "description": "the shared secret (generated when omitted; for `generic`, a "
                       "Standard Webhooks `whsec_` secret)"})
    enabled = fields.Boolean()
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_KINDS)),
                         validate=validate.Length(min=1))
    branches = PATTERNS
    tags = PATTERNS
    pr_actions = fields.List(fields.String(validate=validate.OneOf(PR_ACTIONS)))
    profile = fields.String(validate=validate.Length(min=1, max=64))
    endpoint = fields.String(validate=validate.Length(min=1, max=64))
    overlays = fields.List(fields.String(), validate=validate.Length(max=16))
    overrides = fields.Dict()
    zpod_name = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "pattern of the zPod's name: {repo} {branch} {base} {tag} {pr} {sha} "
                       "{ref} {event}; made a valid zPod name", "example": "ci-{repo}-{ref}"})
    lease = Duration(allow_none=True)
    on_push = fields.String(validate=validate.OneOf(POLICIES), metadata={
        "description": "a push for a zPod that exists: `replace` (destroy, then rebuild) or "
                       "`keep`"})

    @validates("zpod_name")
    def _pattern(self, value: str, **_) -> None:
        problem = placeholders_problem(value)
        if problem:
            raise ValidationError(problem)


class TriggerCreateSchema(TriggerFields):
    name = fields.String(required=True, validate=TriggerFields._declared_fields["name"].validate)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    profile = fields.String(required=True, validate=validate.Length(min=1, max=64))
    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=64))
    enabled = fields.Boolean(load_default=True)
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_KINDS)),
                         validate=validate.Length(min=1), load_default=["push", "pull_request"])
    branches = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                           validate=validate.Length(min=1, max=32), load_default=["*"])
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                       validate=validate.Length(min=1, max=32), load_default=["*"])
    pr_actions = fields.List(fields.String(validate=validate.OneOf(PR_ACTIONS)),
                             load_default=list(PR_ACTIONS))
    overlays = fields.List(fields.String(), validate=validate.Length(max=16), load_default=list)
    overrides = fields.Dict(load_default=dict)
    zpod_name = fields.String(load_default="ci-{repo}-{ref}",
                              validate=validate.Length(min=1, max=200))
    on_push = fields.String(validate=validate.OneOf(POLICIES), load_default="replace")


class TriggerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    owner = fields.String()
    source = fields.String()
    enabled = fields.Boolean()
    events = fields.List(fields.String())
    branches = fields.List(fields.String())
    tags = fields.List(fields.String())
    pr_actions = fields.List(fields.String())
    profile = fields.String()
    endpoint = fields.String()
    overlays = fields.List(fields.String())
    overrides = fields.Dict()
    zpod_name = fields.String(attribute="name_pattern")
    lease = Duration(allow_none=True)
    on_push = fields.String()
    hook_url = fields.String(metadata={"description": "where the sender posts"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TriggerCreatedSchema(TriggerSchema):
    secret = fields.String(metadata={"description": "shown in this answer only"})


class TriggerDeliverySchema(Schema):
    id = fields.Integer()
    received_at = fields.DateTime()
    delivery_id = fields.String(allow_none=True, metadata={"description": "the sender's id"})
    event = fields.String(allow_none=True)
    outcome = fields.String(metadata={
        "description": "building, replacing, destroying, kept, filtered, pong, replay, "
                       "rejected, too_large, unreadable, disabled or failed"})
    status_code = fields.Integer()
    reason = fields.String(allow_none=True)
    zpod_name = fields.String(allow_none=True)
    zpod_id = fields.Integer(allow_none=True)
    job_id = fields.Integer(allow_none=True)


class DeliveryQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class HookAnswerSchema(Schema):
    delivery = fields.Integer(metadata={"description": "the recorded delivery's id"})
    outcome = fields.String()
    message = fields.String()
    zpod = fields.String(allow_none=True, metadata={"description": "the zPod's name"})
    zpod_url = fields.String(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    job_url = fields.String(allow_none=True)
