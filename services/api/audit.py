"""The audit log: every change made through the API, and every credential read.

Recorded once, by an after_request hook, for each request whose method
changes something (or whose view is listed in AUDITED_READS): who (user,
token), what (action, resource, target, path), when, from where (the client's
address; X-Forwarded-For only from trusted proxies, see client_address.py),
outcome (status code). It is written in its own transaction, so a
failed request is recorded too. Bodies are never recorded: they may hold
secrets.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, request
from flask_smorest import Blueprint
from sqlalchemy import select

from services.api.access import READ_ONLY_POSTS, require_admin
from services.api.client_address import client_address
from services.api.context import api_context, db
from services.api.user_schemas import AuditEntrySchema, AuditQuerySchema
from shared.db import transaction
from shared.models import AuditEntry

log = logging.getLogger(__name__)

blp = Blueprint("audit", __name__, description="The audit log (admins)")

ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
# Views that only read but whose every use is recorded: view endpoint -> action.
AUDITED_READS = {"zpods.credentials": "credentials"}
# POST routes that act on a record rather than create one: their last path segment.
VERBS = {"verify", "sync", "enable", "disable", "stage", "test", "power", "start", "stop",
         "check", "lease"}


def _action() -> str | None:
    if request.url_rule is None or not request.path.startswith("/api/"):
        return None
    if request.endpoint in READ_ONLY_POSTS:
        return None
    if request.endpoint in AUDITED_READS:
        return AUDITED_READS[request.endpoint]
    action = ACTIONS.get(request.method)
    last = request.path.rstrip("/").rsplit("/", 1)[-1]
    if action == "create" and last in VERBS:
        return last
    return action


def _target(response: Response) -> str | None:
    """The record acted on: from the URL, or for a create the new record's name (or id)."""
    args = request.view_args or {}
    if args:
        return "/".join(str(v) for v in args.values())[:255]
    body = response.get_json(silent=True) if response.is_json else None
    if isinstance(body, dict) and response.status_code < 400:
        found = body.get("name", body.get("id"))
        return str(found)[:255] if found is not None else None
    return None


def _remote_addr() -> str | None:
    """The client's address: X-Forwarded-For counts only from trusted proxies."""
    found = client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                           api_context().trusted_proxies)
    return found[:100] if found else found


def record(response: Response) -> Response:
    action = _action()
    if action is None:
        return response
    user, token = g.get("user"), g.get("token")
    target = _target(response)
    entry = AuditEntry(
        user_id=getattr(user, "id", None), user_name=getattr(user, "name", None),
        token_id=getattr(token, "id", None), action=action,
        resource=request.blueprint or "", target=target,
        method=request.method, path=request.path[:500], status_code=response.status_code,
        outcome="success" if response.status_code < 400 else "failure",
        remote_addr=_remote_addr(), request_id=g.get("request_id"))
    if "db" in g:
        # End the request's transaction first: on SQLite it could hold the write lock.
        g.db.rollback()
    try:
        with transaction(api_context().sessions) as session:
            session.add(entry)
    except Exception:
        # The answer is already decided; losing an audit row must at least be loud.
        log.exception("could not write the audit entry for %s %s", request.method, request.path)
    return response


def init_app(app: Flask) -> None:
    app.after_request(record)


@blp.route("")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEntrySchema(many=True))
def list_audit(query):
    """Audit entries, oldest first, after `after` (an entry id), up to `limit`."""
    require_admin()
    statement = select(AuditEntry).where(AuditEntry.id > query["after"])
    if query.get("user"):
        statement = statement.where(AuditEntry.user_name == query["user"])
    if query.get("resource"):
        statement = statement.where(AuditEntry.resource == query["resource"])
    return db().scalars(statement.order_by(AuditEntry.id).limit(query["limit"])).all()
