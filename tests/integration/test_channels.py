"""/api/v1/channels: secrets kept secret, unsafe URLs refused, subscriptions, test messages;
and events reaching chat through a real deployment, a stopped notifier, a lost task."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.notifier.app import sweep
from shared.events import EventKind
from shared.models import Channel
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job
from tests.notify_helpers import add_channel, seed_job, wait_deliveries


def test_channel_url_is_encrypted_masked_and_never_returned(app, client, receiver):
    url = receiver.url("/services/T1/B2/verysecrettoken")
    created = add_channel(client, "team", "slack", url)
    assert created["url"] == f"http://127.0.0.1:{receiver.port}/…oken"
    assert created["subscriptions"][0]["kinds"] == [
        "job_started", "step_finished", "job_succeeded", "job_failed", "zpod_destroyed",
        "lease_expiring"]
    assert "secret" not in created and created["signed"] is False
    with app.extensions["nestlab"].sessions() as session:
        stored = session.scalar(select(Channel))
        assert "verysecrettoken" not in stored.url_encrypted
    for path in ("/api/v1/channels", "/api/v1/channels/team", f"/api/v1/channels/{created['id']}"):
        assert "verysecrettoken" not in client.get(path).get_data(as_text=True)
    assert "verysecrettoken" not in client.get("/api/v1/openapi.json").get_data(as_text=True)


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
    "ftp://127.0.0.1/hook",
    "http:///nohost",
])
def test_unsafe_urls_are_refused(client, url):
    response = client.post("/api/v1/channels", json={"name": "x", "kind": "slack", "url": url})
    assert response.status_code == 422, response.json
    assert "url" in response.json["errors"]["json"]


def test_patch_checks_the_url_too_and_the_blocklist_is_a_setting(settings, client):
    from services.api import create_app

    created = add_channel(client, "p", "webhook", "http://localhost:9/hook")
    response = client.patch(f"/api/v1/channels/{created['id']}",
                            json={"url": "http://169.254.1.1/x"})
    assert response.status_code == 422 and "link-local" in str(response.json)
    response = client.patch("/api/v1/channels/p", json={"name": "q", "enabled": False})
    assert response.status_code == 200 and response.json["enabled"] is False
    open_app = create_app(settings.with_overrides(channel_blocklist=()))
    open_client = open_app.test_client()
    open_client.environ_base.update(client.environ_base)
    assert open_client.patch("/api/v1/channels/q",
                             json={"url": "http://169.254.1.1/x"}).status_code == 200
    open_app.extensions["nestlab"].close()


def test_channel_validation_and_discord_shape(client):
    bad = client.post("/api/v1/channels", json={
        "name": "d", "kind": "discord", "url": "http://127.0.0.1:9/not-a-webhook"})
    assert bad.status_code == 422 and "webhooks" in str(bad.json["errors"]["json"]["url"])
    bad = client.post("/api/v1/channels", json={
        "name": "s", "kind": "slack", "url": "http://127.0.0.1:9/x", "secret": "whsec_abc"})
    assert bad.status_code == 422
    bad = client.post("/api/v1/channels", json={
        "name": "s", "kind": "slack", "url": "http://127.0.0.1:9/x",
        "subscriptions": [{"kinds": ["nope"]}, {"zpod": "a", "owner": "b"}]})
    assert bad.status_code == 422
    errors = bad.json["errors"]["json"]["subscriptions"]
    assert "kinds" in errors["0"] and "zpod" in errors["1"]
    add_channel(client, "dup", "slack", "http://127.0.0.1:9/x")
    assert client.post("/api/v1/channels", json={
        "name": "dup", "kind": "slack", "url": "http://127.0.0.1:9/x"}).status_code == 409


def test_subscriptions_and_delete(client):
    created = add_channel(client, "subs", "slack", "http://127.0.0.1:9/x")
    response = client.post("/api/v1/channels/subs/subscriptions",
                           json={"kinds": ["job_failed"], "zpod": "lab9"})
    assert response.status_code == 201
    listed = client.get("/api/v1/channels/subs/subscriptions").json
    assert [s["zpod"] for s in listed] == [None, "lab9"]
    assert client.delete(f"/api/v1/channels/subs/subscriptions/{listed[0]['id']}"
                         ).status_code == 204
    assert len(client.get("/api/v1/channels/subs").json["subscriptions"]) == 1
    assert client.delete(f"/api/v1/channels/{created['id']}").status_code == 204
    assert client.get("/api/v1/channels/subs").status_code == 404


def test_test_message_and_deliveries(app, client, notifier, receiver):
    add_channel(client, "t", "teams", receiver.url("/teams"))
    response = client.post("/api/v1/channels/t/test")
    assert response.status_code == 202 and response.json["kind"] == "test"
    [post] = receiver.wait_for(1)
    assert "Test message for channel t" in str(post.json)
    channel_id = client.get("/api/v1/channels/t").json["id"]
    wait_deliveries(app.extensions["nestlab"], channel_id,
                    lambda rows: rows and rows[0].status == "succeeded")
    [shown] = client.get("/api/v1/channels/t/deliveries").json
    assert shown["status"] == "succeeded" and shown["status_code"] == 200
    assert shown["log"][0]["attempt"] == 1


def test_subscription_scope_and_kinds(app, client, notifier, receiver):
    add_channel(client, "one", "slack", receiver.url("/one"), kinds=["job_failed"])
    client.post("/api/v1/channels/one/subscriptions", json={"kinds": ["job_started"],
                                                             "zpod": "lab2"})
    add_channel(client, "owner", "slack", receiver.url("/owner"))
    client.patch("/api/v1/channels/owner", json={"enabled": True})
    client.delete("/api/v1/channels/owner/subscriptions/"
                  f"{client.get('/api/v1/channels/owner').json['subscriptions'][0]['id']}")
    client.post("/api/v1/channels/owner/subscriptions", json={"owner": "alice"})
    ctx = app.extensions["nestlab"]
    lab1, lab2 = seed_job(ctx, "lab1"), seed_job(ctx, "lab2")
    lab1.emit(EventKind.JOB_STARTED, "deploy started", 0)
    lab2.emit(EventKind.JOB_STARTED, "deploy started", 0)
    lab1.emit(EventKind.JOB_FAILED, "broke", 10)
    posts = receiver.wait_for(2, path="/one")
    # Two jobs: order is kept within a job, not across jobs.
    assert sum("lab2" in str(p.json) and "started" in str(p.json) for p in posts) == 1
    assert sum("failed" in p.json.get("text", "") for p in posts) == 1
    lab2.emit(EventKind.JOB_SUCCEEDED, "deploy succeeded", 100)  # not subscribed
    client.post("/api/v1/channels/one/test")
    assert len(receiver.wait_for(3, path="/one")) == 3
    # zPods have no owners yet: an owner's subscription matches nothing.
    assert [r for r in receiver.received if r.path == "/owner"] == []


def test_events_wait_for_a_notifier_that_is_down(app, client, settings, receiver):
    from celery.contrib.testing.worker import start_worker

    from services.notifier.app import create_worker

    add_channel(client, "later", "slack", receiver.url("/later"))
    job = seed_job(app.extensions["nestlab"])
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)  # no notifier is running
    job.emit(EventKind.JOB_SUCCEEDED, "deploy succeeded", 100)
    assert receiver.received == []
    with start_worker(create_worker(settings), pool="solo", perform_ping_check=False,
                      queues=["notifier"], loglevel="WARNING"):
        posts = receiver.wait_for(2)
    assert ["started" in str(p.json) for p in posts] == [True, False]


def test_an_event_whose_task_was_lost_is_swept(app, client, settings, notifier, receiver):
    add_channel(client, "swept", "slack", receiver.url("/swept"))
    # As if the broker had been down when the deployer emitted: stored, never sent.
    job = seed_job(app.extensions["nestlab"], notify=False)
    job.emit(EventKind.JOB_FAILED, "vCenter said no", 30)
    [post] = receiver.wait_for(1)  # the notifier's own sweep found it
    assert "vCenter said no" in str(post.json)
    assert sweep(notifier) == (0, 0)


@pytest.mark.simulator
def test_real_deployment_reaches_chat_and_never_waits_for_it(app, client, worker,
                                                             notifier_process, simulator,
                                                             receiver):
    add_channel(client, "ops", "slack", receiver.url("/ops"))
    assert client.post("/api/v1/endpoints", json=endpoint_body(simulator)).status_code == 201
    client.post("/api/v1/channels/ops/test")
    receiver.wait_for(1)  # the notifier is up
    receiver.gate.clear()  # the chat service hangs: it answers nothing
    response = client.post("/api/v1/zpods",
                           json={"name": "chat1", "endpoint": "sim", "profile": "minimal"})
    job = wait_for_job(client, response.json["job_id"])
    assert job["status"] == "succeeded", job  # finished while chat was stuck
    receiver.gate.set()
    posts = receiver.wait_for(3)[1:]
    texts = [str(p.json) for p in posts]
    assert "Deploy of zPod chat1" in texts[0] and "succeeded" in texts[-1]
    with app.extensions["nestlab"].sessions() as session:
        from shared.models import Endpoint, Zpod

        secrets = [app.extensions["nestlab"].secrets.decrypt(row.password_encrypted)
                   for row in (*session.scalars(select(Endpoint)), *session.scalars(select(Zpod)))]
    assert secrets and not any(secret in text for secret in secrets for text in texts)
