"""Pure logic of events and notifications: gap handling, URL safety, retry timing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.api.stream import GapGuard, sse_message
from services.notifier.delivery import backoff
from services.notifier.messages import bar, duration
from services.notifier.transport import _scrub, parse_retry_after, with_query
from shared.channels import (
    Unresolvable,
    UnsafeUrl,
    check_url,
    discord_base,
    mask_url,
    new_webhook_secret,
    valid_webhook_secret,
)
from shared.settings import DEFAULT_CHANNEL_BLOCKLIST, Settings


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_gap_guard_waits_for_a_late_commit_then_gives_up_on_it():
    clock = Clock()
    guard = GapGuard(grace=3.0, clock=clock)
    assert guard.horizon(0, [1, 2, 3]) == 3
    assert guard.horizon(3, [5, 6]) == 3 and guard.waiting  # 4 not committed yet
    clock.now = 1.0
    assert guard.horizon(3, [4, 5, 6]) == 6 and not guard.waiting  # 4 arrived: in order
    assert guard.horizon(6, [8]) == 6
    clock.now = 3.5
    assert guard.horizon(6, [8]) == 6  # the gap was first seen at 1.0
    clock.now = 4.0
    assert guard.horizon(6, [8, 9]) == 9  # open for 3 s: a rolled-back id, skipped


def test_sse_message_format():
    assert sse_message(7, "job_started", {"a": 1}) == 'id: 7\nevent: job_started\ndata: {"a":1}\n\n'
    assert sse_message(None, "end", {}) == "event: end\ndata: {}\n\n"


def fake_resolver(answers):
    def resolve(host, port):
        if host not in answers:
            raise OSError("no such host")
        return answers[host]
    return resolve


def test_url_safety_resolves_the_host():
    resolver = fake_resolver({"hooks.slack.com": ["34.1.2.3"], "evil.example": ["169.254.169.254"],
                              "evil6.example": ["fe80::1%eth0"], "local.example": ["127.0.0.1"],
                              "mixed.example": ["8.8.8.8", "169.254.1.1"]})
    check_url("https://hooks.slack.com/services/x", DEFAULT_CHANNEL_BLOCKLIST, resolver)
    check_url("http://local.example:8080/x", DEFAULT_CHANNEL_BLOCKLIST, resolver)
    for url in ("http://evil.example/", "http://evil6.example/", "http://mixed.example/",
                "http://METADATA.google.internal./x", "http://100.100.100.200/",
                "http://[fd00:ec2::254]/"):
        with pytest.raises(UnsafeUrl):
            check_url(url, DEFAULT_CHANNEL_BLOCKLIST, resolver)
    with pytest.raises(Unresolvable):
        check_url("http://nowhere.example/", DEFAULT_CHANNEL_BLOCKLIST, resolver)
    check_url("http://evil.example/", (), resolver)  # the blocklist is a setting


def test_blocklist_from_the_environment():
    settings = Settings.from_env({"NESTLAB_CHANNEL_BLOCKLIST": "10.0.0.0/8, bad.host"})
    assert settings.channel_blocklist == ("10.0.0.0/8", "bad.host")
    assert Settings.from_env({}).channel_blocklist == DEFAULT_CHANNEL_BLOCKLIST


def test_masks_secrets_and_discord_paths():
    assert mask_url("https://hooks.slack.com/services/T/B/abcdefgh") == \
        "https://hooks.slack.com/…efgh"
    assert mask_url("https://u:p@[::1]:8443/x?token=abcd") == "https://[::1]:8443/…abcd"
    assert discord_base("https://discord.com/api/webhooks/123/tok_en/") == \
        "https://discord.com/api/webhooks/123/tok_en"
    assert discord_base("https://discord.com/api/other") is None
    secret = new_webhook_secret()
    assert valid_webhook_secret(secret) and not valid_webhook_secret("whsec_!!")
    assert not valid_webhook_secret(secret.removeprefix("whsec_"))


def test_retry_after_and_backoff():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("99999") == 3600.0
    for attempt in range(1, 12):
        step = min(60.0, 2.0 * 2 ** (attempt - 1))
        assert step / 2 <= backoff(attempt, 2.0, 60.0) <= step


def test_error_text_never_carries_the_url():
    url = "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=KEYKEYKEY&token=TOKTOKTOK"
    scrubbed = _scrub("bad token TOKTOKTOK for key KEYKEYKEY in spaces/AAAA", url)
    assert "TOKTOKTOK" not in scrubbed and "KEYKEYKEY" not in scrubbed
    assert with_query(url, messageReplyOption="X").endswith("token=TOKTOKTOK&messageReplyOption=X")


def test_bar_and_duration():
    assert bar(40) == "▰▰▰▰▱▱▱▱▱▱ 40%" and bar(None) == "—"
    assert duration(5) == "5s" and duration(65) == "1m 05s" and duration(3700) == "1h 01m"
