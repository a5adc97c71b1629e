"""The client's address, believing X-Forwarded-For only from trusted proxies."""

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@lru_cache(maxsize=256)
def _trusted_peer(peer: str, proxies: tuple[str, ...]) -> bool:
    return _is_trusted(peer, _networks(proxies))


def is_trusted_peer(peer: str, proxies: Sequence[str]) -> bool:
    return _trusted_peer(peer, tuple(proxies))


def client_ip(peer: str | None, forwarded_for: str | None, proxies: Sequence[str]) -> str | None:
    networks = _networks(tuple(proxies))
    if peer is None or not forwarded_for or not _is_trusted(peer, networks):
        return peer
    # Walk from the nearest hop outwards; the first address we do not trust is the client.
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop[:45]
    return hops[0][:45] if hops else peer
