"""Webhook triggers: signatures computed here with hmac/hashlib/base64 (not the
product's code) for GitHub, GitLab and Standard Webhooks; tampering, wrong
secrets, old timestamps, replays, duplicate deliveries at once over real HTTP,
filters, PR teardown and replace on the simulator with a real worker."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid

import pytest
import requests
from sqlalchemy import func, select

from shared.models import Job, TriggerDelivery, Zpod
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job

HOOK = "/api/v1/hooks/"


@pytest.fixture
def settings(settings):
    return settings.with_overrides(hook_max_body=16 * 1024)


@pytest.fixture
def endpoint(client, simulator):
    response = client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    assert response.status_code == 201, response.json
    return "sim"


def make_trigger(client, source="github", **fields) -> dict:
    body = {"name": f"{source}-ci", "source": source, "profile": "minimal", "endpoint": "sim",
            **fields}
    response = client.post("/api/v1/triggers", json=body)
    assert response.status_code == 201, response.json
    return response.json


def github(secret: str, payload, event="push", delivery=None, body=None):
    raw = body if body is not None else json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "X-Hub-Signature-256": signature, "Content-Type": "application/json"}
    return raw, headers


def gitlab(token: str, payload, event="Push Hook", delivery=None):
    headers = {"X-Gitlab-Event": event, "X-Gitlab-Token": token,
               "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4()),
               "Content-Type": "application/json"}
    return json.dumps(payload).encode(), headers


def standard(secret: str, payload, msg_id=None, timestamp=None):
    raw = json.dumps(payload).encode()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = str(int(timestamp if timestamp is not None else time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()
    headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp,
               "webhook-signature": f"v1,{base64.b64encode(digest).decode()} v1,bm90dGhpcw==",
               "Content-Type": "application/json"}
    return raw, headers


def push(branch="main", repo="Shop-API", ref=None):
    return {"ref": ref or f"refs/heads/{branch}", "after": "a1b2c3d4e5f6" * 3 + "abcd",
            "repository": {"name": repo, "full_name": f"acme/{repo}"}}


def pull_request(action="opened", number=42, base="main", head="feature/login"):
    return {"action": action, "number": number, "repository": {"name": "shop"},
            "pull_request": {"number": number, "head": {"ref": head, "sha": "f" * 40},
                             "base": {"ref": base}, "merged": action == "closed"}}


def post(client, trigger, raw, headers):
    # No bearer token: the signature is the credential.
    return client.post(HOOK + trigger, data=raw, headers=headers,
                       environ_base={"HTTP_AUTHORIZATION": ""})


def count(app, model, *where) -> int:
    with app.extensions["nestlab"].sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_github_push_builds_a_zpod_and_the_secret_is_shown_once(app, client, endpoint):
    created = make_trigger(client, branches=["main", "release/*"], lease="PT4H")
    secret = created["secret"]
    assert created["hook_url"].endswith("/api/v1/hooks/github-ci")
    assert "secret" not in client.get("/api/v1/triggers/github-ci").json
    assert "secret" not in client.get("/api/v1/triggers").json[0]

    response = post(client, "github-ci", *github(secret, push("main")))
    assert response.status_code == 202, response.json
    answer = response.json
    assert answer["outcome"] == "building" and answer["zpod"] == "ci-shop-api-main"
    assert answer["job_url"] == f"/api/v1/jobs/{answer['job_id']}"
    zpod = client.get(answer["zpod_url"]).json
    assert zpod["name"] == "ci-shop-api-main" and zpod["owner"] == "admin"
    assert zpod["lease_expires_at"] is not None
    [delivery] = client.get("/api/v1/triggers/github-ci/deliveries").json
    assert delivery["outcome"] == "building" and delivery["status_code"] == 202
    assert delivery["event"] == "push" and delivery["job_id"] == answer["job_id"]
    # The secret is nowhere but in the create answer.
    assert secret not in json.dumps(client.get("/api/v1/triggers/github-ci/deliveries").json)
    with app.extensions["nestlab"].sessions() as session:
        from shared.models import Trigger
        stored = session.scalar(select(Trigger)).secret_encrypted
    assert secret not in stored


def test_bad_signatures_all_answer_401_alike(app, client, endpoint):
    secret = make_trigger(client)["secret"]
    raw, headers = github(secret, push())
    tampered = raw.replace(b"main", b"mainx")
    wrong = github("not-the-secret-at-all", push())
    missing = dict(headers)
    del missing["X-Hub-Signature-256"]
    odd = dict(headers, **{"X-Hub-Signature-256": "sha256=zz\u00e9"})
    answers = [post(client, "github-ci", tampered, headers), post(client, "github-ci", *wrong),
               post(client, "github-ci", raw, missing), post(client, "github-ci", raw, odd)]
    assert [a.status_code for a in answers] == [401] * 4
    assert len({a.json["message"] for a in answers}) == 1
    assert count(app, Zpod) == 0
    outcomes = [d["outcome"] for d in client.get("/api/v1/triggers/github-ci/deliveries").json]
    assert outcomes == ["rejected"] * 4
    # A rejected delivery id does not block the genuine one.
    assert post(client, "github-ci", raw, headers).status_code == 202


def test_a_replayed_delivery_is_409_and_builds_nothing_more(app, client, endpoint):
    secret = make_trigger(client)["secret"]
    raw, headers = github(secret, push(), delivery="d-1")
    first = post(client, "github-ci", raw, headers)
    assert first.status_code == 202
    again = post(client, "github-ci", raw, headers)
    assert again.status_code == 409
    assert "'d-1' was received before" in again.json["message"]
    assert f"delivery record {first.json['delivery']}" in again.json["message"]
    assert count(app, Zpod) == 1 and count(app, Job) == 1


def test_duplicate_deliveries_at_once_make_exactly_one_build(app, client, endpoint, live_server):
    secret = make_trigger(client)["secret"]
    raw, headers = github(secret, push(), delivery="same-delivery")
    barrier = threading.Barrier(8)
    codes = []

    def send():
        barrier.wait()
        codes.append(requests.post(f"{live_server}{HOOK}github-ci", data=raw, headers=headers,
                                   timeout=60).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert sorted(codes) == [202] + [409] * 7
    assert count(app, Zpod) == 1 and count(app, Job) == 1
    assert count(app, TriggerDelivery, TriggerDelivery.outcome == "replay") == 7


def test_a_chunked_body_is_measured_as_it_is_read(app, client, endpoint, live_server):
    secret = make_trigger(client)["secret"]

    def send(payload):
        raw, headers = github(secret, payload)
        chunks = (raw[start:start + 4096] for start in range(0, len(raw), 4096))
        return requests.post(f"{live_server}{HOOK}github-ci", data=chunks, headers=headers,
                             timeout=60)

    answer = send(push() | {"padding": "x" * 40_000})
    assert answer.status_code == 413, answer.text
    assert count(app, Zpod) == 0
    assert send(push() | {"padding": "x" * 10_000}).status_code == 202


def test_filters_branches_pr_actions_tags_and_ping(client, endpoint):
    secret = make_trigger(client, events=["push", "pull_request"],
                          branches=["main", "release/*"], pr_actions=["opened", "closed"],
                          zpod_name="ci-{repo}-{ref}")["secret"]

    def send(payload, event="push"):
        return post(client, "github-ci", *github(secret, payload, event))

    assert send({"zen": "hi", "hook_id": 1}, "ping").json["outcome"] == "pong"
    skipped = send(push("feature/x"))
    assert skipped.status_code == 200 and "matches none" in skipped.json["message"]
    tag = send(push(ref="refs/tags/v1.0"))
    assert tag.status_code == 200 and "'tag' events" in tag.json["message"]
    edited = send(pull_request("edited"), "pull_request")
    assert edited.status_code == 200 and "'edited'" in edited.json["message"]
    other_base = send(pull_request("opened", base="develop"), "pull_request")
    assert other_base.status_code == 200 and "'develop'" in other_base.json["message"]
    issue = send({"action": "opened"}, "issues")
    assert issue.status_code == 200
    built = send(push("release/2.1"))
    assert built.status_code == 202 and built.json["zpod"] == "ci-shop-api-release-2-1"
    pr = send(pull_request("opened", number=7), "pull_request")
    assert pr.status_code == 202 and pr.json["zpod"] == "ci-shop-pr-7"


def test_unreadable_payloads_are_422_and_may_be_sent_again(client, endpoint):
    secret = make_trigger(client)["secret"]
    no_ref = github(secret, {"repository": {"name": "x"}}, delivery="d-7")
    assert post(client, "github-ci", *no_ref).status_code == 422
    # An error outcome gives the delivery id back: a redelivery is not a replay.
    assert post(client, "github-ci", *no_ref).status_code == 422
    not_json = github(secret, None, body=b"{not json", delivery="d-8")
    answer = post(client, "github-ci", *not_json)
    assert answer.status_code == 422 and "cannot be read" in answer.json["message"]


def test_body_too_large_unknown_and_disabled_triggers(client, endpoint):
    secret = make_trigger(client)["secret"]
    big = push() | {"padding": "x" * 20_000}
    answer = post(client, "github-ci", *github(secret, big))
    assert answer.status_code == 413 and "hook_max_body" in answer.json["message"]
    assert post(client, "nope", *github(secret, push())).status_code == 404
    assert client.patch("/api/v1/triggers/github-ci", json={"enabled": False}).status_code == 200
    assert post(client, "github-ci", *github(secret, push())).status_code == 404
    outcomes = [d["outcome"] for d in client.get("/api/v1/triggers/github-ci/deliveries").json]
    assert outcomes == ["disabled", "too_large"]


def test_a_refused_zpod_request_is_recorded_with_its_code(client, endpoint):
    secret = make_trigger(client, profile="no-such-profile")["secret"]
    answer = post(client, "github-ci", *github(secret, push()))
    assert answer.status_code == 422 and "no-such-profile" in answer.json["message"]
    [delivery] = client.get("/api/v1/triggers/github-ci/deliveries").json
    assert delivery["outcome"] == "failed" and delivery["status_code"] == 422


def test_keep_policy_and_a_zpod_the_trigger_did_not_build(client, endpoint):
    secret = make_trigger(client, on_push="keep")["secret"]
    assert post(client, "github-ci", *github(secret, push())).status_code == 202
    kept = post(client, "github-ci", *github(secret, push()))
    assert kept.status_code == 200 and kept.json["message"] == "zPod exists, kept"
    mine = client.post("/api/v1/zpods", json={"name": "ci-shop-api-dev", "endpoint": "sim",
                                              "profile": "minimal"})
    assert mine.status_code == 202
    clash = post(client, "github-ci", *github(secret, push("dev")))
    assert clash.status_code == 409 and "not built by this trigger" in clash.json["message"]


def test_gitlab_token_events_and_idempotency(app, client, endpoint):
    token = make_trigger(client, "gitlab", secret="a-gitlab-token-of-some-length",
                         zpod_name="gl-{repo}-{ref}", on_push="keep")
    assert "secret" in token
    payload = {"ref": "refs/heads/main", "checkout_sha": "c" * 40,
               "project": {"path": "infra", "name": "Infra"}}
    good = gitlab("a-gitlab-token-of-some-length", payload, delivery="gl-1")
    answer = post(client, "gitlab-ci", *good)
    assert answer.status_code == 202 and answer.json["zpod"] == "gl-infra-main"
    assert post(client, "gitlab-ci", *good).status_code == 409
    wrong = gitlab("a-gitlab-token-of-some-lengtX", payload)
    assert post(client, "gitlab-ci", *wrong).status_code == 401
    raw, headers = gitlab("a-gitlab-token-of-some-length", payload)
    del headers["X-Gitlab-Event-UUID"]
    headers["Idempotency-Key"] = "idem-1"
    assert post(client, "gitlab-ci", raw, headers).status_code == 200  # kept
    assert post(client, "gitlab-ci", raw, headers).status_code == 409
    mr = {"object_attributes": {"action": "update", "iid": 3, "source_branch": "fix",
                                "target_branch": "main"}, "project": {"path": "infra"}}
    edited = post(client, "gitlab-ci", *gitlab("a-gitlab-token-of-some-length", mr,
                                               "Merge Request Hook"))
    assert edited.status_code == 200 and "'updated'" in edited.json["message"]
    mr["object_attributes"]["oldrev"] = "d" * 40
    pushed = post(client, "gitlab-ci", *gitlab("a-gitlab-token-of-some-length", mr,
                                               "Merge Request Hook"))
    assert pushed.status_code == 202 and pushed.json["zpod"] == "gl-infra-pr-3"


def test_standard_webhooks_signature_timestamp_and_replay(client, endpoint):
    secret = make_trigger(client, "generic", zpod_name="gen-{repo}-{branch}")["secret"]
    assert secret.startswith("whsec_")
    payload = {"type": "push", "data": {"repo": "tools", "branch": "main"}}
    raw, headers = standard(secret, payload, msg_id="msg_1")
    assert post(client, "generic-ci", raw, headers).status_code == 202
    assert post(client, "generic-ci", raw, headers).status_code == 409
    old = standard(secret, payload, timestamp=time.time() - 600)
    assert post(client, "generic-ci", *old).status_code == 401
    future = standard(secret, payload, timestamp=time.time() + 600)
    assert post(client, "generic-ci", *future).status_code == 401
    raw, headers = standard(secret, payload)
    assert post(client, "generic-ci", raw.replace(b"tools", b"toolz"), headers).status_code == 401
    other = "whsec_" + base64.b64encode(b"k" * 32).decode()
    assert post(client, "generic-ci", *standard(other, payload)).status_code == 401
    bad = client.post("/api/v1/triggers", json={"name": "g2", "source": "generic",
                                                "profile": "minimal", "endpoint": "sim",
                                                "secret": "not-a-whsec-secret-at-all"})
    assert bad.status_code == 422


def test_trigger_validation_and_ownership(app, client, endpoint):
    bad = client.post("/api/v1/triggers", json={
        "name": "x", "source": "github", "profile": "minimal", "endpoint": "sim",
        "zpod_name": "ci-{nope}", "lease": "P30D"})
    assert bad.status_code == 422
    assert set(bad.json["errors"]["json"]) == {"zpod_name"}
    too_long = client.post("/api/v1/triggers", json={
        "name": "x", "source": "github", "profile": "minimal", "endpoint": "sim",
        "lease": "P30D"})
    assert too_long.status_code == 422 and "lease" in too_long.json["errors"]["json"]
    assert client.post("/api/v1/users", json={"name": "dev"}).status_code == 201
    token = client.post("/api/v1/users/dev/tokens", json={"name": "t"}).json["token"]
    dev = app.test_client()
    dev.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    make_trigger(client)
    assert dev.get("/api/v1/triggers").json == []
    assert dev.get("/api/v1/triggers/github-ci").status_code == 404
    refused = dev.post("/api/v1/triggers", json={"name": "d", "source": "github",
                                                 "profile": "minimal", "endpoint": "sim",
                                                 "owner": "admin"})
    assert refused.status_code == 403
    mine = make_trigger(dev, name="dev-ci")
    assert mine["owner"] == "dev"
    assert client.get("/api/v1/triggers/dev-ci").json["owner"] == "dev"
    assert dev.delete("/api/v1/triggers/dev-ci").status_code == 204


def test_pr_closed_tears_down_the_zpod_it_built(client, worker, endpoint):
    secret = make_trigger(client, zpod_name="ci-{repo}-{pr}")["secret"]
    opened = post(client, "github-ci", *github(secret, pull_request("opened"), "pull_request"))
    assert opened.status_code == 202, opened.json
    assert wait_for_job(client, opened.json["job_id"], 120)["status"] == "succeeded"
    closed = post(client, "github-ci", *github(secret, pull_request("closed"), "pull_request"))
    assert closed.status_code == 202, closed.json
    assert closed.json["outcome"] == "destroying" and closed.json["zpod"] == "ci-shop-42"
    assert wait_for_job(client, closed.json["job_id"], 120)["status"] == "succeeded"
    assert client.get(f"/api/v1/zpods/{opened.json['zpod_url'].rsplit('/', 1)[1]}").json[
        "status"] == "destroyed"
    again = post(client, "github-ci", *github(secret, pull_request("closed"), "pull_request"))
    assert again.status_code == 200


def test_replace_destroys_then_rebuilds_the_zpod(app, client, worker, endpoint):
    secret = make_trigger(client, on_push="replace", lease="PT2H")["secret"]
    first = post(client, "github-ci", *github(secret, push()))
    assert wait_for_job(client, first.json["job_id"], 120)["status"] == "succeeded"
    second = post(client, "github-ci", *github(secret, push()))
    assert second.status_code == 202 and second.json["outcome"] == "replacing", second.json
    destroy = wait_for_job(client, second.json["job_id"], 120)
    assert destroy["status"] == "succeeded", destroy
    deliveries = client.get("/api/v1/triggers/github-ci/deliveries").json
    assert [d["outcome"] for d in deliveries] == ["rebuilt", "replacing", "building"]
    assert wait_for_job(client, deliveries[0]["job_id"], 120)["status"] == "succeeded"
    shown = client.get("/api/v1/zpods/ci-shop-api-main").json
    assert shown["status"] == "ready" and shown["id"] == deliveries[0]["zpod_id"]
    assert shown["id"] != deliveries[2]["zpod_id"]
    assert shown["lease_expires_at"] is not None
    assert count(app, Zpod, Zpod.name == "ci-shop-api-main") == 2


def test_gitlab_merge_tears_down_the_merge_request_zpod(client, worker, endpoint):
    make_trigger(client, "gitlab", secret="gitlab-secret-token-1234", zpod_name="mr-{pr}")
    mr = {"object_attributes": {"action": "open", "iid": 9, "source_branch": "fix",
                                "target_branch": "main"}, "project": {"path": "infra"}}
    opened = post(client, "gitlab-ci", *gitlab("gitlab-secret-token-1234", mr,
                                                "Merge Request Hook"))
    assert opened.status_code == 202 and opened.json["zpod"] == "mr-9", opened.json
    assert wait_for_job(client, opened.json["job_id"], 120)["status"] == "succeeded"
    mr["object_attributes"]["action"] = "merge"
    merged = post(client, "gitlab-ci", *gitlab("gitlab-secret-token-1234", mr,
                                                "Merge Request Hook"))
    assert merged.status_code == 202 and merged.json["outcome"] == "destroying", merged.json
    assert wait_for_job(client, merged.json["job_id"], 120)["status"] == "succeeded"
    assert client.get("/api/v1/zpods").json == []
