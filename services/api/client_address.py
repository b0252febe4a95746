"""Where a request came from: the peer's address, or what trusted proxies say it was.

X-Forwarded-For is only a claim, and anyone can send it; so it is believed only
as far as it was written by proxies the operator trusts (`trusted_proxies`, a
list of networks; none by default). The list is read from the right: each proxy
appends the address it got the request from, so the rightmost address that is
not a trusted proxy is the client. Without trusted proxies the header is
ignored and the peer's address is the answer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    """The networks of `trusted_proxies` (ValueError naming a bad one)."""
    try:
        return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)
    except ValueError as exc:
        raise ValueError(f"trusted_proxies: {exc}") from None


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None,
                   networks: tuple[Network, ...]) -> str | None:
    """The client's address, given the peer's, its X-Forwarded-For header and the trusted
    proxies' networks."""
    if not networks or not forwarded_for or peer is None or not _trusted(peer, networks):
        return peer
    address = peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # garbage: believe no further than the proxy that passed it on
        address = hop
        if not _trusted(hop, networks):
            return hop
    return address
