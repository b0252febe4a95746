"""Reading X-Forwarded-For from the right, believing trusted proxies only."""

from __future__ import annotations

import pytest

from services.api.client_address import client_address, parse_networks
from shared.settings import Settings

TRUSTED = parse_networks(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize("peer,forwarded,expected", [
    ("10.0.0.5", "203.0.113.9", "203.0.113.9"),                  # one trusted proxy
    ("10.0.0.5", "198.51.100.1, 203.0.113.9, 10.0.0.7", "203.0.113.9"),  # a spoofed first hop
    ("198.51.100.1", "203.0.113.9", "198.51.100.1"),              # peer not a proxy: ignored
    ("10.0.0.5", None, "10.0.0.5"),
    ("10.0.0.5", "not-an-ip, 10.0.0.7", "10.0.0.7"),              # garbage stops the walk
    ("10.0.0.5", "10.0.0.6, 10.0.0.7", "10.0.0.6"),               # all proxies: the first
    ("fd00::1", "2001:db8::5", "2001:db8::5"),
])
def test_client_address(peer, forwarded, expected):
    assert client_address(peer, forwarded, TRUSTED) == expected


def test_nothing_trusted_by_default():
    settings = Settings.from_env({})
    assert settings.trusted_proxies == ()
    assert client_address("10.0.0.5", "203.0.113.9", parse_networks(())) == "10.0.0.5"
    assert Settings.from_env({"NESTLAB_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1"}
                             ).trusted_proxies == ("10.0.0.0/8", "192.168.1.1")
    with pytest.raises(ValueError, match="trusted_proxies"):
        parse_networks(["10.0.0.0/33"])
