"""/api/v1/groups: named sets of users that zPod and endpoint grants can name.

A group's members get whatever the group is granted (a role on a zPod, `use`
of an endpoint) on top of their own grants; the strongest role wins (see
access.py). Admins manage groups; a user sees the groups they belong to, and
other groups answer 404 as if they did not exist.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from services.api.access import current_user, is_admin, require_admin
from services.api.context import db, find_by_ref
from services.api.user_schemas import (
    GroupCreateSchema,
    GroupMemberSchema,
    GroupSchema,
    GroupUpdateSchema,
)
from services.api.users import find_user
from shared.models import Group, GroupMember, User

blp = Blueprint("groups", __name__, description="Groups of users, for grants (admins manage)")


def find_group(ref: str | int) -> Group | None:
    return find_by_ref(Group, str(ref))


def _is_member(group: Group, user_id: int) -> bool:
    return db().get(GroupMember, (group.id, user_id)) is not None


def get_group_or_404(ref: str) -> Group:
    group = find_group(ref)
    if group is None or not (is_admin() or _is_member(group, current_user().id)):
        abort(404, message=f"group '{ref}' not found")
    return group


def _users(refs: list[str]) -> list[User]:
    """The users named, each once, in order; 422 naming every unknown one."""
    found: dict[int, User] = {}
    unknown = []
    for ref in refs:
        user = find_user(ref)
        if user is None:
            unknown.append(f"unknown user '{ref}'")
        else:
            found.setdefault(user.id, user)
    if unknown:
        abort(422, message="; ".join(unknown), errors={"json": {"members": unknown}})
    return list(found.values())


def _name_free(name: str, group: Group | None = None) -> None:
    taken = db().scalar(select(Group.id).where(Group.name == name))
    if taken is not None and (group is None or taken != group.id):
        abort(409, message=f"a group named '{name}' already exists")


@blp.route("")
class Groups(MethodView):
    @blp.response(200, GroupSchema(many=True))
    def get(self):
        """List groups (a user: the groups they belong to)."""
        statement = select(Group).order_by(Group.name)
        if not is_admin():
            mine = select(GroupMember.group_id).where(GroupMember.user_id == current_user().id)
            statement = statement.where(Group.id.in_(mine))
        return db().scalars(statement).all()

    @blp.arguments(GroupCreateSchema)
    @blp.response(201, GroupSchema)
    def post(self, data):
        """Make a group (admins), with its members by user name."""
        require_admin()
        _name_free(data["name"])
        group = Group(name=data["name"], description=data["description"],
                      members=_users(data["members"]))
        session = db()
        session.add(group)
        session.commit()
        return group


@blp.route("/<ref>")
class GroupByRef(MethodView):
    @blp.response(200, GroupSchema)
    def get(self, ref):
        """Show a group and its members."""
        return get_group_or_404(ref)

    @blp.arguments(GroupUpdateSchema)
    @blp.response(200, GroupSchema)
    def patch(self, data, ref):
        """Rename a group, change its description, or replace its members (admins)."""
        require_admin()
        group = get_group_or_404(ref)
        if "name" in data:
            _name_free(data["name"], group)
            group.name = data["name"]
        if "description" in data:
            group.description = data["description"]
        if "members" in data:
            group.members = _users(data["members"])
        db().commit()
        return group

    @blp.response(204)
    def delete(self, ref):
        """Remove a group (admins): its grants go with it, its members stay."""
        require_admin()
        group = get_group_or_404(ref)
        session = db()
        session.delete(group)
        session.commit()


@blp.route("/<ref>/members", methods=["POST"])
@blp.arguments(GroupMemberSchema)
@blp.response(201, GroupSchema)
def add_member(data, ref):
    """Add a user to a group (admins); adding a member twice changes nothing."""
    require_admin()
    group = get_group_or_404(ref)
    [user] = _users([data["user"]])
    if not _is_member(group, user.id):
        group.members.append(user)
        db().commit()
    return group


@blp.route("/<ref>/members/<user_ref>", methods=["DELETE"])
@blp.response(204)
def remove_member(ref, user_ref):
    """Take a user out of a group (admins): the group's grants stop applying to them at once."""
    require_admin()
    group = get_group_or_404(ref)
    user = find_user(user_ref)
    membership = db().get(GroupMember, (group.id, user.id)) if user is not None else None
    if membership is None:
        abort(404, message=f"'{user_ref}' is not a member of group '{group.name}'")
    session = db()
    session.delete(membership)
    session.commit()
