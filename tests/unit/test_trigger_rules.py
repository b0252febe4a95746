"""zPod names made from webhook payloads, name patterns, filters and durations."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from services.api.hook_sources import HookEvent, Unreadable
from services.api.schemas import ZPOD_NAME
from services.api.trigger_rules import filtered_out, placeholders_problem, sanitise, zpod_name
from shared.durations import format_duration, parse_duration


@pytest.mark.parametrize(("text", "name"), [
    ("ci-Shop_API-feature/Login", "ci-shop-api-feature-login"),
    ("ci--a..b--", "ci-a-b"),
    ("42-fix", "z-42-fix"),
    ("", "z"),
    ("ci-" + "x" * 40, "ci-" + "x" * 29),
    ("ci-" + "x" * 28 + "-yz", "ci-" + "x" * 28),
    ("Ünïcode!", "n-code"),
])
def test_sanitise_makes_a_valid_zpod_name(text, name):
    assert sanitise(text) == name
    assert ZPOD_NAME.match(name)


def test_patterns_render_and_unknown_placeholders_are_refused():
    pr = HookEvent("pull_request", repo="Shop", branch="feat/x", base="main", pr=12,
                   action="opened", sha="abcdef123456")
    assert zpod_name("ci-{repo}-{pr}", pr) == "ci-shop-12"
    assert zpod_name("ci-{repo}-{ref}-{sha}", pr) == "ci-shop-pr-12-abcdef1"
    push = HookEvent("push", repo="Shop", branch="release/1.2")
    assert zpod_name("ci-{repo}-{branch}", push) == "ci-shop-release-1-2"
    assert placeholders_problem("ci-{repo}-{pr}") is None
    assert "unknown placeholder" in placeholders_problem("ci-{user}")
    assert "not a valid pattern" in placeholders_problem("ci-{repo")


def test_filters():
    trigger = SimpleNamespace(events=["push", "pull_request"], branches=["main", "release/*"],
                              tags=["v*"], pr_actions=["opened", "closed"])
    assert filtered_out(trigger, HookEvent("push", repo="r", branch="release/2")) is None
    assert "matches none" in filtered_out(trigger, HookEvent("push", repo="r", branch="dev"))
    assert "deleted" in filtered_out(trigger, HookEvent("push", repo="r", branch="main",
                                                        deleted=True))
    assert "'tag'" in filtered_out(trigger, HookEvent("tag", repo="r", tag="v1"))
    closed = HookEvent("pull_request", repo="r", base="main", pr=1, action="closed")
    assert filtered_out(trigger, closed) is None
    with pytest.raises(Unreadable):
        filtered_out(trigger, HookEvent("pull_request", repo="r", base="main"))


def test_durations():
    assert parse_duration("PT4H") == timedelta(hours=4)
    assert parse_duration("P1DT30M") == timedelta(days=1, minutes=30)
    assert parse_duration(90) == parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("2h") == timedelta(hours=2)
    assert format_duration(timedelta(days=7)) == "P7D"
    assert format_duration(timedelta(hours=1, seconds=5)) == "PT1H5S"
    for bad in ("P", "PT", "soon", "-1", "0", True):
        with pytest.raises(ValueError):
            parse_duration(bad)
