"""Fixtures of the integration tests: the simulator as an endpoint, for tests that deploy
zPods; and for the access tests, callers with their own tokens, an endpoint nobody
connects to and a zPod shared with users and with groups."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from shared.models import Job, Zpod, utcnow
from tests.conftest import FAKE_ENDPOINT, endpoint_body


class Caller:
    """A test client that sends one user's token."""

    def __init__(self, app, token: str):
        self.client = app.test_client()
        self.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        self.token = token

    def __getattr__(self, method):
        return getattr(self.client, method)


@pytest.fixture
def admin(app, admin_token):
    return Caller(app, admin_token)


@pytest.fixture
def make_user(app, admin):
    def make(name: str, role: str = "user", scope: str = "write", **limits) -> Caller:
        response = admin.post("/api/v1/users", json={"name": name, "role": role, **limits})
        assert response.status_code == 201, response.json
        token = admin.post(f"/api/v1/users/{name}/tokens", json={"name": "t", "scope": scope})
        assert token.status_code == 201, token.json
        return Caller(app, token.json["token"])
    return make


@pytest.fixture
def fake_endpoint(admin):
    """Endpoint `sim`, never connected to (no worker runs in the access tests)."""
    assert admin.post("/api/v1/endpoints", json=endpoint_body(FAKE_ENDPOINT)).status_code == 201
    return "sim"


def grant_endpoint(admin, user: str | None = None, group: str | None = None) -> None:
    body = {"user": user} if user else {"group": group}
    response = admin.post("/api/v1/endpoints/sim/permissions", json=body)
    assert response.status_code == 201, response.json


def make_group(admin, name: str, *members: str) -> None:
    response = admin.post("/api/v1/groups", json={"name": name, "members": list(members)})
    assert response.status_code == 201, response.json


def settle_jobs(app) -> None:
    """Mark queued jobs failed, as if the deployer had given up (no worker runs here)."""
    with app.extensions["nestlab"].sessions() as session, session.begin():
        session.execute(update(Job).values(status="failed", finished_at=utcnow()))
        session.execute(update(Zpod).where(Zpod.live_name.is_not(None)).values(status="failed"))


# Who holds what on zPod "lab": role key -> (user name, how they got it).
PEOPLE = {
    "owner": "olive",     # made it
    "zadmin": "zed",      # granted admin
    "viewer": "vic",      # granted viewer
    "stranger": "stan",   # nothing
    "gadmin": "gail",     # in group "ops", granted admin (and `use` of the endpoint)
    "gviewer": "gwen",    # in group "watchers", granted viewer
    "mixed": "max",       # granted viewer, and in "ops": the stronger (admin) wins
}
GRANTS = [({"user": "zed"}, "admin"), ({"user": "vic"}, "viewer"),
          ({"group": "ops"}, "admin"), ({"group": "watchers"}, "viewer"),
          ({"user": "max"}, "viewer")]


@pytest.fixture
def people(app, admin, make_user, fake_endpoint):
    """An admin, an owner with a zPod, and users holding each kind of grant on it."""
    who = {"admin": admin, **{role: make_user(name) for role, name in PEOPLE.items()}}
    make_group(admin, "ops", "gail", "max")
    make_group(admin, "watchers", "gwen")
    grant_endpoint(admin, "olive")
    grant_endpoint(admin, group="ops")
    response = who["owner"].post("/api/v1/zpods", json={"name": "lab", "endpoint": "sim",
                                                        "profile": "minimal"})
    assert response.status_code == 202, response.json
    assert response.json["owner"] == "olive"
    for grantee, role in GRANTS:
        granted = who["owner"].post("/api/v1/zpods/lab/permissions",
                                    json={**grantee, "role": role})
        assert granted.status_code == 201, granted.json
    settle_jobs(app)
    return who


@pytest.fixture
def endpoint(client, simulator):
    """The test's simulator registered as endpoint `sim`."""
    response = client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    assert response.status_code == 201, response.json
    return response.json
