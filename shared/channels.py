"""Chat channels, as both the API and the notifier see them: kinds, URL safety, masking.

A channel's URL is a credential (Slack, Discord and Teams put the token in the
path, Google Chat in the query), so it is stored encrypted and shown masked.
It must also not let the notifier reach inside the network it runs in: URLs
whose host is, or resolves to, a link-local or cloud metadata address are
refused, when the channel is saved and again before each post (DNS can change
in between). Loopback stays allowed: local receivers are legitimate.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
import socket
from collections.abc import Callable
from urllib.parse import urlsplit


class ChannelKind:
    SLACK = "slack"
    TEAMS = "teams"
    MATTERMOST = "mattermost"
    DISCORD = "discord"
    GOOGLECHAT = "googlechat"
    WEBHOOK = "webhook"

    ALL = (SLACK, TEAMS, MATTERMOST, DISCORD, GOOGLECHAT, WEBHOOK)


WEBHOOK_SECRET_PREFIX = "whsec_"
# Discord edits a webhook's message at /webhooks/<id>/<token>/messages/<message id>.
DISCORD_PATH = re.compile(r"^(?P<base>.*/webhooks/\d+/[^/]+)/?$")


class UnsafeUrl(ValueError):
    """The URL is malformed or points somewhere the notifier must not post to."""


class Unresolvable(UnsafeUrl):
    """The URL's host does not resolve (now: DNS may answer later)."""


Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})


def _blocked(blocklist: tuple[str, ...]) -> tuple[list, set[str]]:
    networks, names = [], set()
    for item in blocklist:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            names.add(item.lower().rstrip("."))
    return networks, names


def _address(text: str):
    address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def check_url(url: str, blocklist: tuple[str, ...], resolver: Resolver = resolve) -> None:
    """Raise UnsafeUrl unless `url` is http(s) to a host outside the blocklist."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("an http:// or https:// URL with a host is needed")
    host = parts.hostname.lower().rstrip(".")
    networks, names = _blocked(blocklist)
    if host in names:
        raise UnsafeUrl(f"the host '{host}' is a metadata service and is not allowed")
    try:
        addresses = [host] if _is_ip(host) else resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise Unresolvable(f"the host '{host}' does not resolve") from exc
    for text in addresses:
        address = _address(text)
        if any(address in network for network in networks):
            raise UnsafeUrl(f"the host '{host}' resolves to {address}, a link-local or "
                            "metadata address, which is not allowed")


def _is_ip(host: str) -> bool:
    try:
        _address(host)
    except ValueError:
        return False
    return True


def mask_url(url: str) -> str:
    """Scheme and host, and the last four characters: enough to recognise, not to use."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}/…{url[-4:]}"


def discord_base(url: str) -> str | None:
    """The webhook's base URL (no query, no trailing slash), or None if not a Discord one."""
    parts = urlsplit(url)
    found = DISCORD_PATH.match(parts.path)
    if not found:
        return None
    return f"{parts.scheme}://{parts.netloc}{found.group('base')}"


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def valid_webhook_secret(secret: str) -> bool:
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return False
    return 24 <= len(key) <= 64
