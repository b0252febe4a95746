"""Bearer-token authentication and the first admin.

Tokens are looked up by their SHA-256; the plain token exists only in the
caller's hands (and once, when it is made). A token works while it is not
revoked or expired and its user is enabled; anything else is a 401 that says
no more than "invalid token".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import g, request
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from services.api.access import check_request
from services.api.context import db
from shared.crypto import TOKEN_PREFIX, hash_token, new_api_token
from shared.db import transaction
from shared.models import ApiToken, TokenScope, User, UserRole, utcnow

# Webhook deliveries carry a signature instead of a token (services.api.hooks).
PUBLIC_PATHS = ("/api/v1/openapi.json", "/api/v1/docs", "/api/v1/version", "/api/v1/hooks/")
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
ADMIN_NAME = "admin"
LAST_USED_EVERY = timedelta(minutes=5)


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
    # One query for the token and its user.
    found = db().scalar(select(ApiToken).options(joinedload(ApiToken.user))
                        .where(ApiToken.token_hash == hash_token(token.strip())))
    if found is None or not usable(found):
        _unauthorized("invalid token")
    g.token = found
    g.user = found.user
    _mark_used(found)
    check_request()


def _mark_used(token: ApiToken) -> None:
    # Coarse on purpose: a write per token every few minutes, not per request.
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        token.last_used_at = now
        db().commit()


def usable(token: ApiToken) -> bool:
    return refusal(token) is None


def refusal(token: ApiToken | None) -> str | None:
    """Why `token` no longer works, or None while it does."""
    if token is None or token.revoked_at is not None:
        return "the token was revoked"
    if token.user is None or not token.user.enabled:
        return "the token's user is disabled"
    if token.expires_at is not None and token.expires_at <= utcnow():
        return "the token expired"
    return None


def token_watch(ctx) -> Callable[[], str | None]:
    """For a long answer (an event stream): a check, usable after the request, of whether the
    request's token still works (None) or why not."""
    token_id = g.token.id

    def refused() -> str | None:
        with ctx.sessions() as session:
            return refusal(session.get(ApiToken, token_id, options=[joinedload(ApiToken.user)]))
    return refused


def _unauthorized(message: str):
    abort(401, message=message, headers={"WWW-Authenticate": 'Bearer realm="nestlab"'})


def make_token(user: User, name: str, scope: str = TokenScope.WRITE,
               expires_at=None, plain: str | None = None) -> tuple[ApiToken, str]:
    """A new token row for `user` and the token in clear (to show once)."""
    plain = plain or new_api_token()
    row = ApiToken(name=name, token_hash=hash_token(plain), user=user, scope=scope,
                   prefix=plain[:PREFIX_LENGTH], expires_at=expires_at)
    return row, plain


def _admin_user(session) -> User:
    """The bootstrap admin user, made (or re-enabled as admin) when needed."""
    user = session.scalar(select(User).where(User.name == ADMIN_NAME))
    if user is None:
        user = User(name=ADMIN_NAME, role=UserRole.ADMIN)
        session.add(user)
        session.flush()
    return user


def ensure_admin_token(ctx) -> str | None:
    """Make the first admin user and token when there is none; return the token in clear once.

    With NESTLAB_ADMIN_TOKEN set, that value becomes a token of the `admin`
    user (and is not returned, the operator already has it).
    """
    with transaction(ctx.sessions) as session:
        wanted = ctx.settings.admin_token
        if wanted:
            if session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(wanted))):
                return None
            row, _ = make_token(_admin_user(session), "admin (NESTLAB_ADMIN_TOKEN)", plain=wanted)
            session.add(row)
            return None
        if session.scalar(select(ApiToken.id).limit(1)) is not None:
            return None
        row, token = make_token(_admin_user(session), "first admin")
        session.add(row)
        return token
