"""Groups: admin-managed sets of users, and zPod and endpoint grants to them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.integration.conftest import grant_endpoint, make_group


def test_group_lifecycle(admin, make_user):
    ann, bob = make_user("ann"), make_user("bob")
    made = admin.post("/api/v1/groups", json={"name": "ops", "description": "on call",
                                              "members": ["bob", "ann", "bob"]})
    assert made.status_code == 201, made.json
    assert made.json["members"] == ["ann", "bob"] and made.json["description"] == "on call"
    assert admin.post("/api/v1/groups", json={"name": "ops"}).status_code == 409
    unknown = admin.post("/api/v1/groups", json={"name": "x", "members": ["ann", "nobody"]})
    assert unknown.status_code == 422
    assert unknown.json["errors"]["json"]["members"] == ["unknown user 'nobody'"]
    assert admin.post("/api/v1/groups", json={"name": "bad name"}).status_code == 422

    make_group(admin, "other")
    assert [g["name"] for g in admin.get("/api/v1/groups").json] == ["ops", "other"]
    # A member sees their groups only; other groups are not there for them.
    assert [g["name"] for g in ann.get("/api/v1/groups").json] == ["ops"]
    assert ann.get("/api/v1/groups/ops").json["members"] == ["ann", "bob"]
    assert ann.get("/api/v1/groups/other").status_code == 404

    assert admin.delete("/api/v1/groups/ops/members/bob").status_code == 204
    assert admin.delete("/api/v1/groups/ops/members/bob").status_code == 404
    assert bob.get("/api/v1/groups").json == []
    added = admin.post("/api/v1/groups/ops/members", json={"user": "bob"})
    assert added.status_code == 201 and added.json["members"] == ["ann", "bob"]
    assert admin.post("/api/v1/groups/ops/members", json={"user": "bob"}).status_code == 201
    assert admin.post("/api/v1/groups/ops/members", json={"user": "zoe"}).status_code == 422

    renamed = admin.patch("/api/v1/groups/ops", json={"name": "sre", "members": ["bob"]})
    assert renamed.status_code == 200 and renamed.json["members"] == ["bob"]
    assert admin.patch("/api/v1/groups/sre", json={"name": "other"}).status_code == 409
    assert admin.get("/api/v1/groups/ops").status_code == 404
    assert admin.delete("/api/v1/groups/sre").status_code == 204
    assert admin.get("/api/v1/groups/sre").status_code == 404
    # Users stay when their group goes.
    assert admin.get("/api/v1/users/bob").status_code == 200


@pytest.mark.parametrize("body,field", [
    ({"user": "gail", "group": "ops", "role": "viewer"}, "_schema"),
    ({"role": "viewer"}, "_schema"),
    ({"group": "nope", "role": "viewer"}, "group"),
    ({"user": "nope", "role": "viewer"}, "user"),
    ({"group": "ops", "role": "owner"}, "role"),
])
def test_a_grant_names_one_known_user_or_group(people, body, field):
    response = people["owner"].post("/api/v1/zpods/lab/permissions", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]


def test_grants_show_who_they_are_for_and_go_with_their_group(people):
    owner, admin = people["owner"], people["admin"]
    listed = owner.get("/api/v1/zpods/lab/permissions").json
    shown = {(p["user"], p["group"], p["role"]) for p in listed}
    assert ("zed", None, "admin") in shown and (None, "ops", "admin") in shown
    assert (None, "watchers", "viewer") in shown
    # Granting a group again replaces its role rather than adding a row.
    again = owner.post("/api/v1/zpods/lab/permissions", json={"group": "watchers",
                                                               "role": "admin"})
    assert again.status_code == 201
    assert len(owner.get("/api/v1/zpods/lab/permissions").json) == len(listed)
    assert people["gviewer"].get("/api/v1/zpods/lab/credentials").status_code == 200
    # Revoking a group's grant, deleting a group, leaving a group: access ends at once.
    assert owner.delete(f"/api/v1/zpods/lab/permissions/{again.json['id']}").status_code == 204
    assert people["gviewer"].get("/api/v1/zpods/lab").status_code == 404
    assert admin.delete("/api/v1/groups/ops/members/gail").status_code == 204
    assert people["gadmin"].get("/api/v1/zpods/lab").status_code == 404
    assert admin.delete("/api/v1/groups/ops").status_code == 204
    groups = [p["group"] for p in owner.get("/api/v1/zpods/lab/permissions").json]
    assert "ops" not in groups


def test_mixed_grants_take_the_strongest_role(people):
    mixed, admin = people["mixed"], people["admin"]
    assert mixed.get("/api/v1/zpods/lab/credentials").status_code == 200
    assert admin.delete("/api/v1/groups/ops/members/max").status_code == 204
    # Only his own `viewer` grant is left.
    assert mixed.get("/api/v1/zpods/lab").status_code == 200
    assert mixed.get("/api/v1/zpods/lab/credentials").status_code == 403


def test_endpoint_use_through_a_group(admin, make_user, fake_endpoint):
    una = make_user("una")
    body = {"name": "mine", "endpoint": "sim", "profile": "minimal"}
    make_group(admin, "builders", "una")
    assert una.get("/api/v1/endpoints/sim").status_code == 404
    grant_endpoint(admin, group="builders")
    [grant] = admin.get("/api/v1/endpoints/sim/permissions").json
    assert grant["group"] == "builders" and grant["user"] is None and grant["role"] == "use"
    assert [e["name"] for e in una.get("/api/v1/endpoints").json] == ["sim"]
    assert una.post("/api/v1/zpods", json=body).status_code == 202
    assert admin.delete("/api/v1/groups/builders/members/una").status_code == 204
    assert una.get("/api/v1/endpoints/sim").status_code == 404
    refused = una.post("/api/v1/zpods", json=dict(body, name="again"))
    assert refused.status_code == 422 and "endpoint" in refused.json["errors"]["json"]


def test_a_grant_row_names_exactly_one_grantee(app, people):
    """The database itself refuses a grant to nobody, or to a user and a group at once."""
    from sqlalchemy.exc import IntegrityError

    with app.extensions["nestlab"].engine.connect() as connection:
        for user_id, group_id in ((None, None), (1, 1)):
            with pytest.raises(IntegrityError):
                connection.execute(text(
                    "INSERT INTO zpod_permissions (zpod_id, user_id, group_id, role, created_at) "
                    "VALUES (1, :u, :g, 'viewer', CURRENT_TIMESTAMP)"),
                    {"u": user_id, "g": group_id})
            connection.rollback()


def test_migration_down_keeps_user_grants_and_drops_group_grants(app, people):
    from alembic import command

    from shared.db import alembic_config, make_engine, upgrade

    ctx = app.extensions["nestlab"]
    url = ctx.settings.database_url
    ctx.engine.dispose()
    command.downgrade(alembic_config(url), "0007")  # below the groups
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT u.name, p.role FROM zpod_permissions p "
                                       "JOIN users u ON u.id = p.user_id ORDER BY p.id")).all()
        count = connection.execute(text("SELECT count(*) FROM zpod_permissions")).scalar()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("zed", "admin"), ("vic", "viewer"), ("max", "viewer")]
    assert count == 3
    upgrade(url)
    assert people["zadmin"].get("/api/v1/zpods/lab/credentials").status_code == 200
    assert people["gadmin"].get("/api/v1/zpods/lab").status_code == 404
