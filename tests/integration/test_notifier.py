"""The notifier with real parts: Redis, SQLite, an in-process Celery notifier worker and
local HTTP receivers standing in for each chat platform."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from shared.events import EventKind
from tests.notify_helpers import add_channel, seed_job, wait_deliveries
from tests.receivers import Answer

ALL_KINDS = list(EventKind.ALL)


def ctx_of(app):
    return app.extensions["nestlab"]


def test_each_platform_gets_its_own_message(app, client, notifier, receiver):
    paths = {"slack": "/slack", "teams": "/teams", "mattermost": "/mm",
             "discord": "/api/webhooks/42/discord-token", "googlechat": "/v1/spaces/S/messages",
             "webhook": "/generic"}
    for kind, path in paths.items():
        url = receiver.url(path) + ("?key=k&token=googletoken" if kind == "googlechat" else "")
        add_channel(client, kind, kind, url)
    job = seed_job(ctx_of(app), error="create portgroup 'nestlab-lab1': DuplicateName")
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    job.emit(EventKind.JOB_FAILED, "create portgroup 'nestlab-lab1': DuplicateName", 40)
    by_path = {path: receiver.wait_for(2, path=path if kind != "discord" else None)
               for kind, path in paths.items() if kind != "discord"}

    slack = by_path["/slack"][-1].json
    assert slack["blocks"][0]["type"] == "header"
    assert "lab1" in slack["blocks"][0]["text"]["text"] and "failed" in slack["text"]
    fields = " ".join(f["text"] for f in slack["blocks"][1]["fields"])
    assert "*zPod*\nlab1" in fields and "40%" in fields and "*Elapsed*" in fields
    assert "DuplicateName" in slack["blocks"][2]["text"]["text"]
    assert "DELETE /api/v1/zpods/lab1" in slack["blocks"][3]["elements"][0]["text"]

    teams = by_path["/teams"][-1].json
    assert teams["type"] == "message"
    [attachment] = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["color"] == "Attention"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["zPod"] == "lab1" and facts["Progress"].endswith("40%")
    assert any("DuplicateName" in b.get("text", "") for b in card["body"][2:])

    mattermost = by_path["/mm"][-1].json
    [attachment] = mattermost["attachments"]
    assert attachment["color"] == "#E01E5A" and "failed" in attachment["title"]
    titles = [f["title"] for f in attachment["fields"]]
    assert titles[:2] == ["zPod", "Step"] and "Error" in titles and "How to retry" in titles

    chat = by_path["/v1/spaces/S/messages"]
    assert {r.json["thread"]["threadKey"] for r in chat} == {f"nestlab-job-{job.job_id}"}
    assert chat[0].query["messageReplyOption"] == "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
    assert chat[0].query["token"] == "googletoken"
    assert chat[-1].json["cardsV2"][0]["card"]["header"]["title"].endswith("failed")

    generic = by_path["/generic"]
    assert [r.json["type"] for r in generic] == ["nestlab.job_started", "nestlab.job_failed"]
    assert generic[-1].json["data"]["zpod"] == "lab1"
    assert generic[-1].json["data"]["error"].endswith("DuplicateName")

    discord = [r for r in receiver.wait_for(12) if r.path.startswith("/api/webhooks/42")]
    assert [r.method for r in discord] == ["POST", "PATCH"]
    embed = discord[-1].json["embeds"][0]
    assert embed["color"] == 0xE01E5A and "failed" in embed["title"]
    assert {f["name"] for f in embed["fields"]} >= {"zPod", "Progress", "Elapsed", "Error",
                                                    "How to retry"}
    assert discord[-1].json["allowed_mentions"] == {"parse": []}


def verify_standard_webhook(secret: str, headers: dict, body: bytes) -> bool:
    """The Standard Webhooks check, written here from the specification, independently
    of the `standardwebhooks` package the notifier signs with."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig == f"v1,{expected}" for sig in headers["webhook-signature"].split(" "))


def test_generic_webhook_is_signed(app, client, notifier, receiver):
    channel = add_channel(client, "ci", "webhook", receiver.url("/ci"), kinds=ALL_KINDS)
    secret = channel["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in client.get(f"/api/v1/channels/{channel['id']}").json
    job = seed_job(ctx_of(app))
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    job.emit(EventKind.JOB_SUCCEEDED, "deploy succeeded", 100)
    posts = receiver.wait_for(2)
    for post in posts:
        assert post.headers["content-type"] == "application/json"
        assert verify_standard_webhook(secret, post.headers, post.body)
        assert not verify_standard_webhook("whsec_" + base64.b64encode(b"x" * 32).decode(),
                                           post.headers, post.body)
    assert posts[0].headers["webhook-id"] != posts[1].headers["webhook-id"]
    # A chosen secret works as well, and a tampered body does not verify.
    mine = "whsec_" + base64.b64encode(b"k" * 32).decode()
    client.patch(f"/api/v1/channels/{channel['id']}", json={"secret": mine})
    client.post(f"/api/v1/channels/{channel['id']}/test")
    [*_, test] = receiver.wait_for(3)
    assert verify_standard_webhook(mine, test.headers, test.body)
    assert not verify_standard_webhook(mine, test.headers, test.body + b" ")


def test_retry_with_backoff_on_5xx(app, client, notifier, receiver):
    channel = add_channel(client, "s", "slack", receiver.url("/s"))
    receiver.answer(Answer(500), Answer(503), Answer(502))
    job = seed_job(ctx_of(app))
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    posts = receiver.wait_for(4)
    [delivery] = wait_deliveries(ctx_of(app), channel["id"],
                                 lambda rows: rows and rows[0].status == "succeeded")
    assert delivery.attempts == 4
    assert [e["status_code"] for e in delivery.log] == [500, 503, 502, 200]
    waits = [e["retry_in"] for e in delivery.log[:3]]
    # Exponential steps (base 0.1 s, cap 1 s), each at least half its step.
    for n, wait in enumerate(waits, start=1):
        step = min(1.0, 0.1 * 2 ** (n - 1))
        assert step / 2 <= wait <= step
    gaps = [b.at - a.at for a, b in zip(posts, posts[1:], strict=False)]
    assert all(gap >= wait * 0.9 for gap, wait in zip(gaps, waits, strict=True))
    shown = client.get(f"/api/v1/channels/{channel['id']}/deliveries").json
    assert shown[0]["status"] == "succeeded" and shown[0]["attempts"] == 4


def test_429_waits_for_retry_after(app, client, notifier, receiver):
    channel = add_channel(client, "d", "slack", receiver.url("/d"))
    receiver.answer(Answer(429, {"Retry-After": "1.5"}))
    job = seed_job(ctx_of(app))
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 1.4
    [delivery] = wait_deliveries(ctx_of(app), channel["id"],
                                 lambda rows: rows and rows[0].status == "succeeded")
    assert delivery.log[0]["status_code"] == 429 and delivery.log[0]["retry_in"] == 1.5


def test_other_4xx_is_permanent(app, client, notifier, receiver):
    channel = add_channel(client, "gone", "slack", receiver.url("/gone"))
    receiver.answer(Answer(404, body="no_service"))
    job = seed_job(ctx_of(app))
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    [delivery] = wait_deliveries(ctx_of(app), channel["id"],
                                 lambda rows: rows and rows[0].status == "failed")
    assert delivery.attempts == 1 and delivery.status_code == 404
    assert delivery.error == "HTTP 404: no_service"
    assert len(receiver.received) == 1


def test_dead_service_fails_after_bounded_retries_without_leaking_the_url(
        app, client, notifier, caplog):
    from nestlab.devstack import free_port

    secret_path = "/services/T000/B000/SuperSecretToken123"
    url = f"http://127.0.0.1:{free_port()}{secret_path}"
    channel = add_channel(client, "dead", "slack", url)
    assert channel["url"] == f"{url.split('/services')[0]}/…n123"
    caplog.set_level(logging.INFO)
    job = seed_job(ctx_of(app))
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    [delivery] = wait_deliveries(ctx_of(app), channel["id"],
                                 lambda rows: rows and rows[0].status == "failed")
    assert delivery.attempts == app.extensions["nestlab"].settings.notify_retry_max
    assert delivery.error == "connection refused"
    shown = client.get(f"/api/v1/channels/{channel['id']}/deliveries").get_data(as_text=True)
    for text in (caplog.text, shown, client.get("/api/v1/channels").get_data(as_text=True)):
        assert "SuperSecretToken123" not in text


def test_discord_message_is_edited_in_place(app, client, notifier, receiver, settings):
    add_channel(client, "dc", "discord", receiver.url("/api/webhooks/7/tok"), kinds=ALL_KINDS)
    job = seed_job(ctx_of(app))
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    [post] = receiver.wait_for(1)
    job.emit(EventKind.STEP_FINISHED, "folder nestlab-lab1", 20)
    receiver.wait_for(2)
    job.emit(EventKind.JOB_SUCCEEDED, "deploy succeeded", 100)
    requests = receiver.wait_for(3)
    assert post.method == "POST" and post.path == "/api/webhooks/7/tok"
    assert post.query == {"wait": "true"}
    message_id = "1000"  # what the receiver answered to the first post
    assert [(r.method, r.path) for r in requests[1:]] == [
        ("PATCH", f"/api/webhooks/7/tok/messages/{message_id}")] * 2
    assert "20%" in str(requests[1].json) and "succeeded" in requests[2].json["embeds"][0]["title"]


def test_progress_is_coalesced_and_the_last_state_still_goes_out(app, client, notifier,
                                                                 receiver, settings):
    interval = settings.notify_interval
    channel = add_channel(client, "prog", "mattermost", receiver.url("/p"), kinds=ALL_KINDS)
    job = seed_job(ctx_of(app))
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    for percent in range(5, 100, 5):
        job.emit(EventKind.PROGRESS, f"step at {percent}%", percent)

    def step(post):
        fields = post.json["attachments"][0]["fields"]
        return {f["title"]: f["value"] for f in fields}["Step"]

    # Nothing more is emitted: the update held back must still go out, with the last state.
    posts = receiver.wait_until(lambda got: got and step(got[-1]) == "step at 95%")
    assert step(posts[0]) == "deploy started"
    # Never two messages of the job within one interval (19 progress events were made).
    assert all(b.at - a.at >= interval * 0.9 for a, b in zip(posts, posts[1:], strict=False))
    job.emit(EventKind.JOB_SUCCEEDED, "deploy succeeded", 100)
    final = receiver.wait_for(len(posts) + 1)[-1]
    assert "succeeded" in final.json["attachments"][0]["title"]
    rows = wait_deliveries(ctx_of(app), channel["id"],
                           lambda rows: all(r.status in ("succeeded", "superseded")
                                            for r in rows))
    progress = [r for r in rows if r.kind == "progress"]
    assert sum(r.coalesced for r in progress) + len(progress) == 19
    assert len([r for r in progress if r.status == "succeeded"]) == len(posts) - 1


def test_start_and_end_are_not_held_back(app, client, notifier, receiver, settings):
    add_channel(client, "fast", "slack", receiver.url("/f"), kinds=ALL_KINDS)
    job = seed_job(ctx_of(app))
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    job.emit(EventKind.STEP_FINISHED, "folder", 20)
    job.emit(EventKind.JOB_FAILED, "it broke", 20)
    posts = receiver.wait_for(2)
    titles = [p.json["blocks"][0]["text"]["text"] for p in posts]
    assert "failed" in titles[-1]
    # The progress update waiting for its slot was superseded by the failure.
    assert not any("folder" in str(p.json) and "failed" not in str(p.json) for p in posts[1:])


def test_a_slow_service_times_out_and_is_retried(app, client, notifier, receiver, settings):
    channel = add_channel(client, "slow", "googlechat", receiver.url("/slow"))
    receiver.answer(Answer(delay=settings.notify_timeout + 0.5))
    job = seed_job(ctx_of(app))
    job.emit(EventKind.JOB_STARTED, "deploy started", 0)
    [delivery] = wait_deliveries(ctx_of(app), channel["id"],
                                 lambda rows: rows and rows[0].status == "succeeded")
    assert delivery.attempts == 2
    assert delivery.log[0]["error"] == f"no answer within {settings.notify_timeout:g}s"
    assert delivery.log[1]["status_code"] == 200
