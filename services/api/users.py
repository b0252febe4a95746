"""/api/v1/users: people, their roles and quotas, and their API tokens.

Admins manage users. Anyone may see themselves (`/users/me`) and manage their
own tokens; a token is shown in clear once, when it is made, and kept only as
a hash. Revoking a token keeps its row (for the audit) and stops it at once.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from services.api import quotas
from services.api.access import current_user, require_admin, require_self_or_admin
from services.api.auth import make_token
from services.api.context import db
from services.api.user_schemas import (
    NewTokenSchema,
    TokenCreateSchema,
    TokenSchema,
    UserCreateSchema,
    UserSchema,
    UserUpdateSchema,
)
from shared.models import ApiToken, User, utcnow

blp = Blueprint("users", __name__, description="Users, roles, quotas and API tokens")


def find_user(ref: str | int) -> User | None:
    session = db()
    found = session.scalar(select(User).where(User.name == str(ref)))
    if found is None and str(ref).isdigit():
        found = session.get(User, int(ref))
    return found


def get_user_or_404(ref: str) -> User:
    user = find_user(ref)
    if user is None:
        abort(404, message=f"user '{ref}' not found")
    require_self_or_admin(user.id)
    return user


def user_view(user: User) -> dict:
    view = {name: getattr(user, name) for name in UserSchema().fields if name != "usage"}
    return dict(view, usage=quotas.usage(db(), user))


@blp.route("")
class Users(MethodView):
    @blp.response(200, UserSchema(many=True))
    def get(self):
        """List users (admins)."""
        require_admin()
        return [user_view(u) for u in db().scalars(select(User).order_by(User.id))]

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Add a user (admins); give them a token with POST /users/<id>/tokens."""
        require_admin()
        session = db()
        if session.scalar(select(User.id).where(User.name == data["name"])):
            abort(409, message=f"a user named '{data['name']}' already exists")
        user = User(**data)
        session.add(user)
        session.commit()
        return user_view(user)


@blp.route("/me")
@blp.response(200, UserSchema)
def me():
    """The caller: name, role, quotas and what their live zPods use."""
    return user_view(current_user())


@blp.route("/<ref>")
class UserByRef(MethodView):
    @blp.response(200, UserSchema)
    def get(self, ref):
        """Show a user (admins, or the user themselves)."""
        return user_view(get_user_or_404(ref))

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data, ref):
        """Change a user's role, quotas or e-mail, or disable them (admins)."""
        require_admin()
        user = get_user_or_404(ref)
        if user.id == current_user().id and (data.get("enabled") is False
                                             or data.get("role", user.role) != user.role):
            abort(409, message="admins may not disable or demote themselves")
        for name, value in data.items():
            setattr(user, name, value)
        db().commit()
        return user_view(user)


@blp.route("/<ref>/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    def get(self, ref):
        """A user's tokens, without their values."""
        user = get_user_or_404(ref)
        return db().scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                            .order_by(ApiToken.id)).all()

    @blp.arguments(TokenCreateSchema)
    @blp.response(201, NewTokenSchema)
    def post(self, data, ref):
        """Make a token; the answer holds it in clear, the only time it is shown."""
        user = get_user_or_404(ref)
        if data["expires_at"] is not None and data["expires_at"] <= utcnow():
            abort(422, errors={"json": {"expires_at": ["must be in the future"]}})
        row, plain = make_token(user, data["name"], data["scope"], data["expires_at"])
        session = db()
        session.add(row)
        session.commit()
        return dict({name: getattr(row, name) for name in TokenSchema().fields}, token=plain)


@blp.route("/<ref>/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
def revoke_token(ref, token_id):
    """Revoke a token: it stops working at once."""
    user = get_user_or_404(ref)
    session = db()
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        abort(404, message=f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
