"""Who the caller is and what they may do: roles, zPod grants, endpoint grants.

Global rules (checked once per request, before the view): a `read` token may
only read; writes to admin-managed resources need an admin. Per-record rules
(a zPod's owner and grants, an endpoint's `use` grants; a grant goes to a user
or to a group, and counts for each of the group's members) are helpers the
views call. A record the caller may not see answers 404, like one that does not
exist, so names do not leak.
"""

from __future__ import annotations

from flask import g, request
from flask_smorest import abort
from sqlalchemy import exists, or_, select

from shared.models import EndpointPermission, GroupMember, User, Zpod, ZpodPermission

READ_METHODS = ("GET", "HEAD", "OPTIONS")
# POST views that change nothing (a body too rich for a query string): read
# tokens may use them and the audit log does not record them.
READ_ONLY_POSTS = {"zpods.plan"}
# Blueprints whose every write needs an admin.
ADMIN_WRITES = {"endpoints", "libraries", "components", "uploads", "settings", "channels",
                "profiles", "overlays", "groups"}
# Blueprints an admin alone may even read (settings, chat URLs, the audit, uploads).
ADMIN_READS = {"settings", "channels", "audit", "uploads"}

# Strongest first.
ZPOD_ROLES = ("admin", "viewer")


def current_user() -> User:
    return g.user


def is_admin() -> bool:
    user = g.get("user")
    return user is not None and user.is_admin


def check_request() -> None:
    """The global rules, for the request's blueprint and method (after authentication)."""
    if "user" not in g:
        return
    writing = request.method not in READ_METHODS and request.endpoint not in READ_ONLY_POSTS
    if writing and g.token.scope != "write":
        abort(403, message="this token is read-only (scope 'read')")
    if is_admin():
        return
    blueprint = request.blueprint or ""
    if blueprint in ADMIN_READS or (writing and blueprint in ADMIN_WRITES):
        abort(403, message="only an admin may do this")


def require_admin() -> None:
    if not is_admin():
        abort(403, message="only an admin may do this")


def require_self_or_admin(user_id: int) -> None:
    if not is_admin() and current_user().id != user_id:
        # Other users are not the caller's business: as if they did not exist.
        abort(404, message=f"user {user_id} not found")


def granted_to(permission, user_id: int):
    """A condition on a grant table: granted to the user, or to a group they belong to."""
    groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    return or_(permission.user_id == user_id, permission.group_id.in_(groups))


def visible_zpods(user_id: int):
    """A condition on `Zpod`: owned by the user or granted to them (or to one of their groups)."""
    granted = exists().where(ZpodPermission.zpod_id == Zpod.id,
                             granted_to(ZpodPermission, user_id))
    return or_(Zpod.owner_id == user_id, granted)


def zpod_role(session, zpod: Zpod) -> str | None:
    """The caller's role on a zPod: `owner`, `admin`, `viewer` or None (admins: `admin`).

    The strongest of ownership, a grant to the user and grants to their groups.
    """
    user = current_user()
    if zpod.owner_id == user.id:
        return "owner"
    if user.is_admin:
        return "admin"
    roles = set(session.scalars(select(ZpodPermission.role).where(
        ZpodPermission.zpod_id == zpod.id, granted_to(ZpodPermission, user.id))))
    return next((role for role in ZPOD_ROLES if role in roles), None)


def usable_endpoints(user_id: int):
    """A condition on `Endpoint`: granted `use` to the user or to one of their groups."""
    from shared.models import Endpoint

    return exists().where(EndpointPermission.endpoint_id == Endpoint.id,
                          granted_to(EndpointPermission, user_id))


def may_use_endpoint(session, endpoint_id: int) -> bool:
    if is_admin():
        return True
    return session.scalar(select(EndpointPermission.id).where(
        EndpointPermission.endpoint_id == endpoint_id,
        granted_to(EndpointPermission, current_user().id)).limit(1)) is not None
