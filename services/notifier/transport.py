"""Posting a notice to a channel over HTTP, and reading the answer as an `Outcome`.

Per platform: Discord's message is created with `?wait=true` (the answer has
its id) and then edited in place with PATCH; Google Chat posts go to the
job's thread (`thread.threadKey`, `messageReplyOption`); generic webhooks are
signed with the Standard Webhooks scheme (the `standardwebhooks` package).

The answer decides what happens next: 2xx done; 429 and 5xx, time-outs and
connection errors are worth retrying (honouring `Retry-After`); anything else
is permanent. Redirects are not followed, so a URL that passed the safety
check cannot bounce the notifier elsewhere. Error texts never include the
URL: it is the channel's credential.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from standardwebhooks import Webhook

from services.notifier.messages import Notice
from services.notifier.payloads import BUILDERS
from shared.channels import ChannelKind, discord_base
from shared.logs import redact

MAX_RETRY_AFTER = 3600.0


@dataclass
class Outcome:
    ok: bool
    status_code: int | None = None
    retryable: bool = False
    retry_after: float | None = None
    error: str | None = None
    message_ref: str | None = None


@dataclass(frozen=True)
class Target:
    kind: str
    url: str
    secret: str | None = None
    message_ref: str | None = None


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | params
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds, possibly fractional, or a date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def signature_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, now, body)}


def _scrub(text: str, url: str) -> str:
    """An answer's text without any piece of the URL long enough to be a credential."""
    parts = urlsplit(url)
    pieces = [p for p in parts.path.split("/") if len(p) >= 6]
    pieces += [v for _, v in parse_qsl(parts.query) if len(v) >= 6]
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return redact(text)


def _failure(exc: requests.RequestException, timeout: float) -> Outcome:
    if isinstance(exc, requests.Timeout):
        return Outcome(False, retryable=True, error=f"no answer within {timeout:g}s")
    if isinstance(exc, requests.ConnectionError):
        refused = "refused" in str(exc).lower()
        return Outcome(False, retryable=True,
                       error="connection refused" if refused else "could not connect")
    return Outcome(False, retryable=False, error=f"request failed ({type(exc).__name__})")


def send(http: requests.Session, method: str, url: str, body: str, headers: dict,
         timeout: float) -> tuple[Outcome, requests.Response | None]:
    try:
        response = http.request(method, url, data=body.encode(), headers=headers,
                                timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return _failure(exc, timeout), None
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, code), response
    retryable = code == 429 or code == 408 or code >= 500
    detail = _scrub(response.text[:200].strip(), url) if response.text else ""
    error = f"HTTP {code}" + (f": {detail}" if detail else "")
    if 300 <= code < 400:
        error = f"HTTP {code}: redirects are not followed; check the URL"
    return Outcome(False, code, retryable,
                   parse_retry_after(response.headers.get("Retry-After")), error), response


def post(http: requests.Session, target: Target, notice: Notice, message_id: str,
            timeout: float) -> Outcome:
    """Post (or, on Discord, edit) the notice's message on the target channel."""
    body = json.dumps(BUILDERS[target.kind](notice), separators=(",", ":"), ensure_ascii=False)
    headers = {"Content-Type": "application/json", "User-Agent": "nestlab-notifier"}
    if target.kind == ChannelKind.DISCORD:
        return _discord(http, target, body, headers, timeout)
    url = target.url
    if target.kind == ChannelKind.GOOGLECHAT:
        url = with_query(url, messageReplyOption="REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")
    if target.kind == ChannelKind.WEBHOOK and target.secret:
        headers |= signature_headers(target.secret, message_id, body)
    return send(http, "POST", url, body, headers, timeout)[0]


def _discord(http, target: Target, body: str, headers: dict, timeout: float) -> Outcome:
    base = discord_base(target.url)
    query = urlsplit(target.url).query
    if target.message_ref:
        edit = f"{base}/messages/{target.message_ref}" + (f"?{query}" if query else "")
        outcome, _ = send(http, "PATCH", edit, body, headers, timeout)
        if outcome.status_code != 404:
            outcome.message_ref = target.message_ref
            return outcome
        # The message was deleted in Discord: post a new one below.
    outcome, response = send(http, "POST", with_query(target.url, wait="true"), body, headers,
                             timeout)
    if outcome.ok:
        try:
            outcome.message_ref = str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            outcome.message_ref = None
    return outcome
