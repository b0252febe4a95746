"""Grants on zPods and endpoints, to a user or to a group: one row per grantee and record."""

from __future__ import annotations

from flask_smorest import abort
from sqlalchemy import select

from services.api.groups import find_group
from services.api.users import find_user


def grantee(data: dict) -> dict:
    """`{"user_id": ...}` or `{"group_id": ...}` for the request's `user` or `group` (422 if
    unknown; the schema has made sure exactly one is there)."""
    kind = "user" if "user" in data else "group"
    found = (find_user if kind == "user" else find_group)(data[kind])
    if found is None:
        abort(422, message=f"unknown {kind} '{data[kind]}'",
              errors={"json": {kind: [f"unknown {kind} '{data[kind]}'"]}})
    return {f"{kind}_id": found.id}


def grant(session, model, scope: dict, data: dict):
    """Grant `data["role"]` on the record `scope` names (e.g. `{"zpod_id": 3}`) to the
    request's grantee; a grantee's earlier grant on it is replaced."""
    who = grantee(data)
    wanted = {**scope, **who}
    permission = session.scalar(select(model).where(
        *(getattr(model, column) == value for column, value in wanted.items())))
    if permission is None:
        permission = model(**wanted)
        session.add(permission)
    permission.role = data["role"]
    session.commit()
    return permission
