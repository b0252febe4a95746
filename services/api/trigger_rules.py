"""Which deliveries a trigger acts on, and the zPod name a delivery makes.

Pure functions of a trigger and a `HookEvent`: branch and tag patterns are
fnmatch style (`main`, `release/*`); a pull request matches on the branch it
targets. zPod names come from a pattern such as `ci-{repo}-{pr}`, then are
made a valid zPod name (a DNS label of at most 32 characters that starts with
a letter).
"""

from __future__ import annotations

import re
import string
from fnmatch import fnmatchcase

from services.api.hook_sources import HookEvent, Unreadable

PLACEHOLDERS = ("repo", "branch", "base", "tag", "pr", "sha", "ref", "event")
MAX_NAME = 32
# Pushed refs: the event's field and the trigger's patterns it must match.
PUSHED = {"push": ("branch", "branches"), "tag": ("tag", "tags")}


def placeholders_problem(pattern: str) -> str | None:
    """Why a name pattern cannot be used, or None."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(pattern) if field is not None]
    except ValueError as exc:
        return f"not a valid pattern ({exc})"
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        return (f"unknown placeholder(s) {', '.join(unknown)}; known: "
                f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    return None


def sanitise(text: str) -> str:
    """A valid zPod name from any text: lowercase, other characters to '-', runs of '-'
    collapsed, at most 32 characters, starting with a letter (else prefixed 'z')."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not name or not name[0].isalpha():
        name = f"z-{name}".rstrip("-")
    return name[:MAX_NAME].rstrip("-")


def zpod_name(pattern: str, event: HookEvent) -> str:
    ref = f"pr-{event.pr}" if event.kind == "pull_request" else event.tag or event.branch
    values = {"repo": event.repo, "branch": event.branch, "base": event.base, "tag": event.tag,
              "pr": "" if event.pr is None else str(event.pr), "sha": event.sha[:7], "ref": ref,
              "event": event.kind}
    return sanitise(pattern.format_map(values))


def _any(patterns: list[str], value: str) -> bool:
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def filtered_out(trigger, event: HookEvent) -> str | None:
    """Why the trigger ignores the event, or None when it acts on it.

    Raises Unreadable when the event lacks what the filter needs.
    """
    if event.kind not in trigger.events:
        return f"'{event.kind}' events are not handled by this trigger"
    if event.kind in PUSHED:
        field, patterns = PUSHED[event.kind]
        value, allowed = getattr(event, field), getattr(trigger, patterns)
        if not value:
            raise Unreadable(f"a {event.kind} needs its {field}")
        if event.deleted:
            return f"{field} '{value}' was deleted"
        if not _any(allowed, value):
            return f"{field} '{value}' matches none of {allowed}"
    elif event.kind == "pull_request":
        if event.pr is None or not event.action:
            raise Unreadable("a pull request event needs its number and action")
        if event.action not in trigger.pr_actions:
            return f"pull request action '{event.action}' is not one of {trigger.pr_actions}"
        if not _any(trigger.branches, event.base):
            return f"target branch '{event.base}' matches none of {trigger.branches}"
    if not event.repo:
        raise Unreadable("the payload names no repository")
    return None
