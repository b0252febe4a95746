"""Schemas of users, groups, their tokens, permissions, zPod credentials and the audit log."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.models import TokenScope, UserRole

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")

_limit = dict(allow_none=True, validate=validate.Range(min=0))


class UserCreateSchema(Schema):
    name = fields.String(required=True, validate=[validate.Regexp(
        USER_NAME, error="1-100 characters: letters, digits, '_', '.', '@', '-'"),
        validate.NoneOf(["me"], error="'me' stands for the caller in /users/me")])
    email = fields.Email(load_default=None, allow_none=True)
    role = fields.String(load_default=UserRole.USER, validate=validate.OneOf(list(UserRole)))
    enabled = fields.Boolean(load_default=True)
    max_zpods = fields.Integer(load_default=None, **_limit,
                               metadata={"description": "live zPods (null: no limit)"})
    max_vcpu = fields.Integer(load_default=None, **_limit,
                              metadata={"description": "total vCPUs of live zPods"})
    max_memory_mb = fields.Integer(load_default=None, **_limit,
                                   metadata={"description": "total memory of live zPods, MB"})


class UserUpdateSchema(Schema):
    email = fields.Email(allow_none=True)
    role = fields.String(validate=validate.OneOf(list(UserRole)))
    enabled = fields.Boolean()
    max_zpods = fields.Integer(**_limit)
    max_vcpu = fields.Integer(**_limit)
    max_memory_mb = fields.Integer(**_limit)


class UsageSchema(Schema):
    zpods = fields.Integer()
    vcpu = fields.Integer()
    memory_mb = fields.Integer()


class UserSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String(allow_none=True)
    role = fields.String()
    enabled = fields.Boolean()
    max_zpods = fields.Integer(allow_none=True)
    max_vcpu = fields.Integer(allow_none=True)
    max_memory_mb = fields.Integer(allow_none=True)
    usage = fields.Nested(UsageSchema, metadata={"description": "what the live zPods use"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TokenCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    scope = fields.String(load_default=TokenScope.WRITE, validate=validate.OneOf(list(TokenScope)))
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                      metadata={"description": "when it stops working "
                                                               "(ISO 8601 with a zone)"})


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    scope = fields.String()
    prefix = fields.String(allow_none=True, metadata={"description": "its first characters"})
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "the token itself, shown this once"})


class GranteeSchema(Schema):
    """Whom a grant is for: a `user` or a `group`, exactly one of them."""

    user = fields.String(metadata={"description": "user name or id"})
    group = fields.String(metadata={"description": "group name or id"})

    @validates_schema
    def one_grantee(self, data, **_kwargs):
        if ("user" in data) == ("group" in data):
            raise ValidationError("give exactly one of 'user' and 'group'", "_schema")


class PermissionCreateSchema(GranteeSchema):
    role = fields.String(required=True, validate=validate.OneOf(["admin", "viewer"]))


class EndpointPermissionCreateSchema(GranteeSchema):
    role = fields.String(load_default="use", validate=validate.OneOf(["use"]))


class PermissionSchema(Schema):
    """A grant on a zPod or an endpoint, dumped straight from its row: to a `user` or a `group`
    (the other is null)."""

    id = fields.Integer()
    user = fields.Function(lambda permission: permission.user.name if permission.user else None,
                           allow_none=True, metadata={"type": "string"})
    group = fields.Function(
        lambda permission: permission.group.name if permission.group else None, allow_none=True,
        metadata={"type": "string"})
    role = fields.String()
    created_at = fields.DateTime()


GROUP_NAME = validate.Regexp(USER_NAME, error="1-100 characters: letters, digits, '_', '.', "
                                              "'@', '-'")


class GroupCreateSchema(Schema):
    name = fields.String(required=True, validate=GROUP_NAME)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    members = fields.List(fields.String(), load_default=list,
                          metadata={"description": "user names (or ids)"})


class GroupUpdateSchema(Schema):
    name = fields.String(validate=GROUP_NAME)
    description = fields.String(validate=validate.Length(max=2000))
    members = fields.List(fields.String(), metadata={"description": "replaces the members"})


class GroupMemberSchema(Schema):
    user = fields.String(required=True, metadata={"description": "user name or id"})


class GroupSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    members = fields.Function(lambda group: sorted(user.name for user in group.members),
                              metadata={"type": "array", "items": {"type": "string"},
                                        "description": "user names"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ZpodCredentialsSchema(Schema):
    zpod = fields.String()
    username = fields.String()
    password = fields.String()


class AuditQuerySchema(Schema):
    user = fields.String(metadata={"description": "only this user's entries"})
    resource = fields.String()
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    user_id = fields.Integer(allow_none=True)
    user_name = fields.String(allow_none=True)
    token_id = fields.Integer(allow_none=True)
    action = fields.String()
    resource = fields.String()
    target = fields.String(allow_none=True)
    method = fields.String()
    path = fields.String()
    status_code = fields.Integer()
    outcome = fields.String()
    remote_addr = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
