"""What a webhook sender says, and whether it may: GitHub, GitLab and Standard Webhooks.

Each source knows its headers (delivery id, event name), checks the
credential the sender attaches (a signature of the raw body, or GitLab's
shared token) in constant time, and reads its payload into a `HookEvent`, the
one shape the trigger rules work on. Nothing here touches the database.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from dataclasses import dataclass

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

GITHUB, GITLAB, GENERIC = "github", "gitlab", "generic"
SOURCES = (GITHUB, GITLAB, GENERIC)
PR_ACTIONS = ("opened", "synchronize", "reopened", "closed")
EVENT_KINDS = ("push", "pull_request", "tag")
ZERO_SHA = "0" * 40


class Unreadable(ValueError):
    """The payload lacks what the trigger's filter needs."""


@dataclass
class HookEvent:
    """A delivery, normalised. For a pull request, `branch` is its source branch and
    `base` the branch it targets."""

    kind: str
    repo: str = ""
    branch: str = ""
    base: str = ""
    tag: str = ""
    pr: int | None = None
    action: str = ""
    sha: str = ""
    deleted: bool = False


def _get(payload, *path, kind=str, required=True):
    value = payload
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise Unreadable(f"the payload has no {'.'.join(path)} ({kind.__name__})")
    return value


def _ref_event(kind: str, ref: str, repo: str, sha: str | None) -> HookEvent:
    if ref.startswith("refs/tags/"):
        return HookEvent("tag", repo=repo, tag=ref.removeprefix("refs/tags/"), sha=sha or "",
                         deleted=sha == ZERO_SHA)
    if not ref.startswith("refs/heads/"):
        raise Unreadable(f"the pushed ref '{ref}' is neither a branch nor a tag")
    return HookEvent(kind, repo=repo, branch=ref.removeprefix("refs/heads/"), sha=sha or "",
                     deleted=sha == ZERO_SHA)


def _equal(given: str, expected: str) -> bool:
    # Headers may carry any byte; compare bytes so odd input is just a mismatch.
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


class GitHub:
    name = GITHUB

    @staticmethod
    def delivery_id(headers) -> str | None:
        return headers.get("X-GitHub-Delivery")

    @staticmethod
    def event_name(headers, payload=None) -> str | None:
        return headers.get("X-GitHub-Event")

    @staticmethod
    def verify(secret: str, headers, body: bytes) -> bool:
        given = headers.get("X-Hub-Signature-256", "")
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return _equal(given, f"sha256={digest}")

    @staticmethod
    def parse(event: str | None, payload: dict) -> HookEvent:
        if event == "ping":
            return HookEvent("ping")
        if event == "push":
            repo = _get(payload, "repository", "name")
            sha = _get(payload, "after", required=False)
            found = _ref_event("push", _get(payload, "ref"), repo, sha)
            found.deleted = found.deleted or bool(payload.get("deleted"))
            return found
        if event == "pull_request":
            return HookEvent(
                "pull_request", repo=_get(payload, "repository", "name"),
                action=_get(payload, "action"), pr=_get(payload, "number", kind=int),
                branch=_get(payload, "pull_request", "head", "ref"),
                base=_get(payload, "pull_request", "base", "ref"),
                sha=_get(payload, "pull_request", "head", "sha", required=False) or "")
        return HookEvent(event or "unknown")


# GitLab's merge request actions, in GitHub's words (merged and closed both end a PR).
GITLAB_MR_ACTIONS = {"open": "opened", "reopen": "reopened", "close": "closed",
                     "merge": "closed"}


class GitLab:
    name = GITLAB

    @staticmethod
    def delivery_id(headers) -> str | None:
        return headers.get("X-Gitlab-Event-UUID") or headers.get("Idempotency-Key")

    @staticmethod
    def event_name(headers, payload=None) -> str | None:
        return headers.get("X-Gitlab-Event")

    @staticmethod
    def verify(secret: str, headers, body: bytes) -> bool:
        return _equal(headers.get("X-Gitlab-Token", ""), secret)

    @staticmethod
    def parse(event: str | None, payload: dict) -> HookEvent:
        if event in ("Push Hook", "Tag Push Hook"):
            repo = _get(payload, "project", "path", required=False) or _get(
                payload, "project", "name")
            sha = _get(payload, "checkout_sha", required=False) or _get(
                payload, "after", required=False)
            if _get(payload, "after", required=False) == ZERO_SHA:
                sha = ZERO_SHA
            return _ref_event("push", _get(payload, "ref"), repo, sha)
        if event == "Merge Request Hook":
            action = _get(payload, "object_attributes", "action")
            if action == "update":
                # An update with `oldrev` is new commits; without, an edit of the title etc.
                pushed = _get(payload, "object_attributes", "oldrev", required=False)
                action = "synchronize" if pushed else "updated"
            return HookEvent(
                "pull_request", repo=_get(payload, "project", "path", required=False)
                or _get(payload, "project", "name"),
                action=GITLAB_MR_ACTIONS.get(action, action),
                pr=_get(payload, "object_attributes", "iid", kind=int),
                branch=_get(payload, "object_attributes", "source_branch"),
                base=_get(payload, "object_attributes", "target_branch"),
                sha=_get(payload, "object_attributes", "last_commit", "id",
                         required=False) or "")
        return HookEvent(event or "unknown")


class Generic:
    """Standard Webhooks: `webhook-id`, `webhook-timestamp` (within 5 minutes) and
    `webhook-signature`, verified by the same `standardwebhooks` package the
    notifier signs its own webhooks with. Body: `{"type": "push" | "pull_request"
    | "tag", "data": {"repo", "branch", "base", "tag", "pr", "action", "sha"}}`."""

    name = GENERIC

    @staticmethod
    def delivery_id(headers) -> str | None:
        return headers.get("webhook-id")

    @staticmethod
    def event_name(headers, payload=None) -> str | None:
        found = payload.get("type") if isinstance(payload, dict) else None
        return found if isinstance(found, str) else None

    @staticmethod
    def verify(secret: str, headers, body: bytes) -> bool:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except (WebhookVerificationError, ValueError, binascii.Error, UnicodeDecodeError):
            return False
        return True

    @staticmethod
    def parse(event: str | None, payload: dict) -> HookEvent:
        data = payload.get("data")
        if event not in EVENT_KINDS or not isinstance(data, dict):
            raise Unreadable("the payload needs a type (push, pull_request or tag) and data")
        found = HookEvent(event, repo=_get(data, "repo"))
        for key in ("branch", "base", "tag", "action", "sha"):
            setattr(found, key, _get(data, key, required=False) or "")
        found.pr = _get(data, "pr", kind=int, required=False)
        return found


SOURCE_BY_NAME = {GITHUB: GitHub, GITLAB: GitLab, GENERIC: Generic}
