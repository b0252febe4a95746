"""Bearer-token authentication and the first admin token.

Tokens are looked up by their SHA-256; the plain token exists only in the
caller's hands (and once, on the console, when nestlab makes the first one).
"""

from __future__ import annotations

from flask import g, request
from flask_smorest import abort
from sqlalchemy import select

from services.api.context import db
from shared.crypto import hash_token, new_api_token
from shared.db import transaction
from shared.models import ApiToken

PUBLIC_PATHS = ("/api/v1/openapi.json", "/api/v1/docs", "/api/v1/version")


def authenticate() -> None:
    """before_request hook: every /api/v1 path but the public ones needs a valid token."""
    if request.method == "OPTIONS" or not request.path.startswith("/api/"):
        return
    if request.path.startswith(PUBLIC_PATHS):
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    found = db().scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
    if found is None:
        _unauthorized("invalid token")
    g.token = found


def _unauthorized(message: str):
    abort(401, message=message, headers={"WWW-Authenticate": 'Bearer realm="nestlab"'})


def ensure_admin_token(ctx) -> str | None:
    """Make the first admin token when there is none; return it in clear once.

    With NESTLAB_ADMIN_TOKEN set, that value becomes the token (and is not
    returned, the operator already has it).
    """
    with transaction(ctx.sessions) as session:
        wanted = ctx.settings.admin_token
        if wanted:
            if session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(wanted))):
                return None
            session.add(ApiToken(name="admin (NESTLAB_ADMIN_TOKEN)", token_hash=hash_token(wanted)))
            return None
        if session.scalar(select(ApiToken.id).limit(1)) is not None:
            return None
        token = new_api_token()
        session.add(ApiToken(name="first admin", token_hash=hash_token(token)))
        return token
