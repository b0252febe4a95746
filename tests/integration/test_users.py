"""Users, tokens, roles, zPod and endpoint grants, quotas, credentials and the audit log,
against the real app and a real (migrated) database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select, update

from shared.events import EventKind, EventRecorder
from shared.models import ApiToken, Job, Zpod, utcnow
from tests.conftest import SCAN
from tests.integration.conftest import PEOPLE, Caller, grant_endpoint, settle_jobs

ROLES = ["admin", *PEOPLE]
ALLOWED = {"admin", "owner", "zadmin", "gadmin", "mixed"}
SEE = ALLOWED | {"viewer", "gviewer"}
USE = {"admin", "owner", "gadmin", "mixed"}
ZPOD_ACTIONS = {
    "show": ("get", "/api/v1/zpods/lab", None, 200, SEE),
    "credentials": ("get", "/api/v1/zpods/lab/credentials", None, 200, ALLOWED),
    "permissions": ("get", "/api/v1/zpods/lab/permissions", None, 200, SEE),
    "grant": ("post", "/api/v1/zpods/lab/permissions", {"user": "stan", "role": "viewer"}, 201,
              ALLOWED),
    "grant-group": ("post", "/api/v1/zpods/lab/permissions",
                    {"group": "watchers", "role": "admin"}, 201, ALLOWED),
    "destroy": ("delete", "/api/v1/zpods/lab", None, 202, ALLOWED),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ZPOD_ACTIONS))
def test_zpod_matrix(people, role, action):
    method, path, body, ok, allowed = ZPOD_ACTIONS[action]
    kwargs = {"json": body} if body is not None else {}
    response = getattr(people[role], method)(path, **kwargs)
    if role in allowed:
        expected = ok
    else:
        # Those who may not see the zPod get 404 (as if it did not exist); a viewer, 403.
        expected = 403 if role in SEE else 404
    assert response.status_code == expected, (role, action, response.json)


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_what_the_caller_may_see(app, people, role):
    client = people[role]
    names = [z["name"] for z in client.get("/api/v1/zpods").json]
    assert names == (["lab"] if role in SEE else [])
    jobs = client.get("/api/v1/jobs").json
    assert len(jobs) == (1 if role in SEE else 0)
    endpoints = [e["name"] for e in client.get("/api/v1/endpoints").json]
    assert endpoints == (["sim"] if role in USE else [])


@pytest.mark.parametrize("role", ROLES)
def test_endpoint_matrix(people, role):
    """`use` of the endpoint: granted to olive, and to group "ops" (gail, max)."""
    client = people[role]
    shown = client.get("/api/v1/endpoints/sim")
    deployed = client.post("/api/v1/zpods", json={"name": f"{role}-lab", "endpoint": "sim",
                                                  "profile": "minimal"})
    if role in USE:
        assert (shown.status_code, deployed.status_code) == (200, 202), deployed.json
        assert deployed.json["owner"] == client.get("/api/v1/users/me").json["name"]
    else:
        assert shown.status_code == 404, role
        assert deployed.status_code == 422 and "endpoint" in deployed.json["errors"]["json"]


ADMIN_MANAGED = [
    ("post", "/api/v1/endpoints", {"name": "x"}),
    ("post", "/api/v1/endpoints/sim/verify", None),
    ("post", "/api/v1/endpoints/sim/permissions", {"user": "stan"}),
    ("get", "/api/v1/endpoints/sim/permissions", None),
    ("post", "/api/v1/libraries", {"name": "x"}),
    ("get", "/api/v1/settings", None),
    ("put", "/api/v1/settings/vendor", {"value": "v"}),
    ("delete", "/api/v1/settings/vendor", None),
    ("get", "/api/v1/channels", None),
    ("post", "/api/v1/channels", {"name": "x"}),
    ("post", "/api/v1/components/upload", {"filename": "a.ova"}),
    ("post", "/api/v1/components/none/enable", None),
    ("get", "/api/v1/users", None),
    ("post", "/api/v1/users", {"name": "mallory"}),
    ("patch", "/api/v1/users/stan", {"role": "admin"}),
    ("get", "/api/v1/audit", None),
    ("post", "/api/v1/groups", {"name": "x"}),
    ("patch", "/api/v1/groups/ops", {"description": "d"}),
    ("delete", "/api/v1/groups/ops", None),
    ("post", "/api/v1/groups/ops/members", {"user": "stan"}),
    ("delete", "/api/v1/groups/ops/members/max", None),
    ("post", "/api/v1/endpoints/sim/permissions", {"group": "ops"}),
]


@pytest.mark.parametrize("method,path,body", ADMIN_MANAGED,
                         ids=[f"{m} {p}" for m, p, _ in ADMIN_MANAGED])
@pytest.mark.parametrize("role", ["admin", "owner", "gadmin", "stranger"])
def test_admin_managed_resources(people, role, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    response = getattr(people[role], method)(path, **kwargs)
    if role == "admin":
        assert response.status_code not in (401, 403), response.json
    else:
        assert response.status_code == 403, (role, method, path, response.json)
        assert response.json["code"] == 403


def test_token_lifecycle(app, admin, make_user):
    user = make_user("tom")
    me = user.get("/api/v1/users/me").json
    assert me["name"] == "tom" and me["role"] == "user"
    assert user.token.startswith("nlb_")
    second = user.post("/api/v1/users/me/tokens", json={"name": "ci"})
    assert second.status_code == 404  # "me" is not a user name; ids and names only
    second = user.post("/api/v1/users/tom/tokens", json={"name": "ci", "scope": "read"})
    assert second.status_code == 201
    listed = user.get("/api/v1/users/tom/tokens").json
    assert [t["name"] for t in listed] == ["t", "ci"]
    assert all("token" not in t and t["prefix"].startswith("nlb_") for t in listed)
    with app.extensions["nestlab"].sessions() as session:
        hashes = session.scalars(select(ApiToken.token_hash)).all()
    assert user.token not in hashes and second.json["token"] not in hashes
    # Revoked: 401 at once; the other token still works.
    revoked = user.delete(f"/api/v1/users/tom/tokens/{listed[1]['id']}")
    assert revoked.status_code == 204
    reader = Caller(app, second.json["token"])
    assert reader.get("/api/v1/users/me").status_code == 401
    assert user.get("/api/v1/users/me").status_code == 200
    # Another user's tokens are not there for tom.
    assert user.get("/api/v1/users/admin/tokens").status_code == 404


def test_read_scope_expiry_and_disabled_user(app, admin, make_user):
    reader = make_user("rita", scope="read")
    assert reader.get("/api/v1/zpods").status_code == 200
    response = reader.post("/api/v1/zpods", json={"name": "x", "endpoint": "e",
                                                  "profile": "minimal"})
    assert response.status_code == 403 and "read" in response.json["message"]
    # Expiry in the past is refused at creation; one that passes stops the token.
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    assert admin.post("/api/v1/users/rita/tokens",
                      json={"name": "old", "expires_at": past}).status_code == 422
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    made = admin.post("/api/v1/users/rita/tokens", json={"name": "soon", "expires_at": soon})
    assert made.status_code == 201
    expiring = Caller(app, made.json["token"])
    assert expiring.get("/api/v1/users/me").status_code == 200
    with app.extensions["nestlab"].sessions() as session, session.begin():
        session.execute(update(ApiToken).where(ApiToken.id == made.json["id"]).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    assert expiring.get("/api/v1/users/me").status_code == 401
    # A disabled user's tokens all stop; enabled again, they work again.
    assert admin.patch("/api/v1/users/rita", json={"enabled": False}).status_code == 200
    assert reader.get("/api/v1/users/me").status_code == 401
    assert admin.patch("/api/v1/users/rita", json={"enabled": True}).status_code == 200
    assert reader.get("/api/v1/users/me").status_code == 200
    # An admin cannot lock themselves out.
    assert admin.patch("/api/v1/users/admin", json={"enabled": False}).status_code == 409


def test_first_admin_token_belongs_to_an_admin_user(client):
    me = client.get("/api/v1/users/me").json
    assert me["name"] == "admin" and me["role"] == "admin"


def test_endpoint_use_grant(app, admin, make_user, fake_endpoint):
    user = make_user("una")
    body = {"name": "mine", "endpoint": "sim", "profile": "minimal"}
    assert user.get("/api/v1/endpoints").json == []
    assert user.get("/api/v1/endpoints/sim").status_code == 404
    refused = user.post("/api/v1/zpods", json=body)
    assert refused.status_code == 422 and "endpoint" in refused.json["errors"]["json"]
    grant_endpoint(admin, "una")
    assert [e["name"] for e in user.get("/api/v1/endpoints").json] == ["sim"]
    assert user.post("/api/v1/zpods", json=body).status_code == 202
    [grant] = admin.get("/api/v1/endpoints/sim/permissions").json
    assert admin.delete(f"/api/v1/endpoints/sim/permissions/{grant['id']}").status_code == 204
    assert user.get("/api/v1/endpoints/sim").status_code == 404


@pytest.mark.parametrize("limits,second,limit_name", [
    ({"max_zpods": 1}, True, "max_zpods"),
    ({"max_vcpu": 12}, False, "max_vcpu"),
    ({"max_memory_mb": 20000}, False, "max_memory_mb"),
])
def test_quotas(app, admin, make_user, fake_endpoint, limits, second, limit_name):
    user = make_user("quinn", **limits)
    grant_endpoint(admin, "quinn")
    body = {"endpoint": "sim", "profile": "minimal"}
    if second:
        assert user.post("/api/v1/zpods", json=dict(body, name="one")).status_code == 202
    response = user.post("/api/v1/zpods", json=dict(body, name="two"))
    assert response.status_code == 409 and limit_name in response.json["message"]
    usage = user.get("/api/v1/users/me").json["usage"]
    assert usage["zpods"] == (1 if second else 0)
    if second:
        # Destroying the zPod frees the quota once it is gone.
        with app.extensions["nestlab"].sessions() as session, session.begin():
            session.execute(update(Zpod).values(live_name=None, status="destroyed"))
        assert user.post("/api/v1/zpods", json=dict(body, name="two")).status_code == 202


def test_an_added_component_counts_against_the_owners_quota(app, people):
    admin, zadmin = people["admin"], people["zadmin"]
    with app.extensions["nestlab"].sessions() as session, session.begin():
        session.execute(update(Zpod).values(status="ready"))
    used = admin.patch("/api/v1/users/olive", json={"max_zpods": 1}).json["usage"]
    item = {"role": "vm", "hostname": "extra", "host_octet": 200, "cpus": 2}
    # olive is at her zPod limit, but a component is not a zPod.
    added = zadmin.post("/api/v1/zpods/lab/components", json=item)
    assert added.status_code == 202, added.json
    assert admin.get("/api/v1/users/olive").json["usage"]["vcpu"] == used["vcpu"] + 2
    settle_jobs(app)
    with app.extensions["nestlab"].sessions() as session, session.begin():
        session.execute(update(Zpod).values(status="ready"))
    admin.patch("/api/v1/users/olive", json={"max_vcpu": used["vcpu"] + 3})
    refused = zadmin.post("/api/v1/zpods/lab/components",
                          json=dict(item, hostname="more", host_octet=201))
    assert refused.status_code == 409, refused.json
    assert "max_vcpu" in refused.json["message"] and "olive" in refused.json["message"]


def test_events_show_only_visible_jobs(app, people):
    ctx = app.extensions["nestlab"]
    with ctx.sessions() as session:
        job_id, zpod_id = session.execute(select(Job.id, Job.zpod_id)).one()
    recorder = EventRecorder(ctx.sessions, redis.Redis.from_url(ctx.settings.redis_url),
                             ctx.settings.events_stream)
    recorder.emit(job_id, zpod_id, EventKind.JOB_STARTED, "deploy started", 0)
    for role in ROLES:
        listed = people[role].get("/api/v1/events").json
        assert len(listed) == (0 if role == "stranger" else 1), role
        job_events = people[role].get(f"/api/v1/jobs/{job_id}/events")
        assert job_events.status_code == (404 if role == "stranger" else 200), role
        assert people[role].get(f"/api/v1/jobs/{job_id}").status_code == (
            404 if role == "stranger" else 200)


def test_audit_log(app, people):
    owner, stranger = people["owner"], people["stranger"]
    assert owner.get("/api/v1/zpods/lab/credentials").status_code == 200
    assert stranger.delete("/api/v1/zpods/lab").status_code == 404
    assert stranger.get("/api/v1/audit").status_code == 403
    entries = people["admin"].get("/api/v1/audit?limit=1000").json
    by = {(e["user_name"], e["action"], e["path"]): e for e in entries}
    read = by[("olive", "credentials", "/api/v1/zpods/lab/credentials")]
    assert read["outcome"] == "success" and read["remote_addr"] == "127.0.0.1"
    assert read["resource"] == "zpods" and read["target"] == "lab"
    refused = by[("stan", "delete", "/api/v1/zpods/lab")]
    assert refused["outcome"] == "failure" and refused["status_code"] == 404
    assert by[("olive", "create", "/api/v1/zpods")]["target"] == "lab"
    assert ("admin", "create", "/api/v1/users") in by
    # Reads are not audited (credentials aside).
    assert not [e for e in entries if e["method"] == "GET" and e["action"] != "credentials"]
    only_stan = people["admin"].get("/api/v1/audit?user=stan").json
    assert only_stan and {e["user_name"] for e in only_stan} == {"stan"}


def test_no_secret_in_answers_or_logs(app, people, request):
    """Every role reads all it may; the suite's secrets scan (tests/secrets_scan.py) must find
    no API token, endpoint password or zPod password in any answer or log line of it."""
    assert people["owner"].get("/api/v1/zpods/lab/credentials").status_code == 200
    for client in people.values():
        for path in ("/api/v1/zpods/lab", "/api/v1/users/me", "/api/v1/zpods", "/api/v1/jobs",
                     "/api/v1/events", "/api/v1/endpoints", "/api/v1/zpods/lab/permissions",
                     "/api/v1/groups"):
            client.get(path)
    people["admin"].get("/api/v1/audit")
    people["admin"].get("/api/v1/users/olive/tokens")
    people["admin"].get("/api/v1/endpoints/sim/permissions")
    found = len(SCAN.findings)
    SCAN.check(request.node.nodeid)
    assert SCAN.findings[found:] == []


def test_chat_subscriptions_by_owner_match_the_owners_zpods(app, people):
    from services.notifier.routing import wants
    from shared.models import Event, Subscription

    event = Event(kind=EventKind.JOB_STARTED, message="m", seq=1, job_id=1)
    with app.extensions["nestlab"].sessions() as session:
        zpod = session.scalar(select(Zpod).where(Zpod.name == "lab"))
        for owner, expected in (("olive", True), ("stan", False)):
            subscription = Subscription(kinds=[EventKind.JOB_STARTED], owner=owner)
            assert wants(subscription, event, zpod) is expected


def test_live_stream_shows_only_visible_jobs(app, people, live_server):
    import requests

    from tests.integration.test_event_stream import sse

    ctx = app.extensions["nestlab"]
    with ctx.sessions() as session, session.begin():
        zpod_job = session.scalar(select(Job.id).where(Job.zpod_id.is_not(None)))
        zpod_id = session.scalar(select(Job.zpod_id).where(Job.id == zpod_job))
        admin_job = Job(kind="library_sync", status="running")  # nestlab's own: admins only
        session.add(admin_job)
        session.flush()
        admin_job_id = admin_job.id
    recorder = EventRecorder(ctx.sessions, redis.Redis.from_url(ctx.settings.redis_url),
                             ctx.settings.events_stream)
    recorder.emit(zpod_job, zpod_id, EventKind.JOB_STARTED, "deploy started", 0)
    recorder.emit(admin_job_id, None, EventKind.JOB_STARTED, "sync started", 0)

    def stream_jobs(role: str) -> list[int]:
        """The job ids of the events a live stream sends, until two keep-alives."""
        headers = {"Authorization": f"Bearer {people[role].token}",
                   "Accept": "text/event-stream"}
        with requests.get(f"{live_server}/api/v1/events?after=0", headers=headers,
                          stream=True, timeout=(5, 10)) as response:
            assert response.status_code == 200
            jobs, quiet = [], 0
            for message in sse(response):
                if "comment" in message:
                    quiet += 1
                    if quiet == 2:
                        return jobs
                elif "data" in message:
                    jobs.append(json.loads(message["data"])["job_id"])
        return jobs

    assert stream_jobs("admin") == [zpod_job, admin_job_id]
    assert stream_jobs("viewer") == [zpod_job]
    assert stream_jobs("gviewer") == [zpod_job]
    assert stream_jobs("stranger") == []


def test_migration_gives_existing_tokens_an_admin_user(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from shared.crypto import hash_token
    from shared.db import alembic_config, make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO api_tokens (name, token_hash, role, created_at) "
                                "VALUES ('first admin', :h, 'admin', CURRENT_TIMESTAMP)"),
                           {"h": hash_token("nlb_old")})
    upgrade(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT u.name, u.role, t.scope FROM api_tokens t "
                                       "JOIN users u ON u.id = t.user_id")).all()
    assert [tuple(r) for r in rows] == [("admin", "admin", "write")]
    command.downgrade(alembic_config(url), "0003")
    upgrade(url)
    engine.dispose()


def test_token_use_is_recorded(app, make_user):
    user = make_user("uma")
    assert user.get("/api/v1/users/me").status_code == 200
    [token] = user.get("/api/v1/users/uma/tokens").json
    assert token["last_used_at"] is not None
