"""Who is asking: the client's address, as the portal may believe it.

Directly exposed, the peer address (`REMOTE_ADDR`). Behind the reverse proxy that
`AIDIAL_TRUST_PROXY=1` vouches for (every request comes through it), the address that proxy
appended to `X-Forwarded-For`: the last entry, the only one a client cannot write itself.
`source_group` widens an IPv6 address to its /64, which one client holds whole.
Used by refusal coalescing, the JWKS refresh limit and the rate limits.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings

IPV6_GROUP_PREFIX = 64


def client_address(request: Any) -> str:
    meta = getattr(request, "META", {})
    peer = str(meta.get("REMOTE_ADDR", ""))
    if not settings.AIDIAL.trust_proxy:
        return peer
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return peer


def source_group(address: str) -> str:
    """An IPv4 address as it is; an IPv6 address as its /64 (`2001:db8:1:2::/64`)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_GROUP_PREFIX}", strict=False))
    return str(parsed)


def client_source(request: Any) -> str:
    """The client's address group: the unit that limits and coalescing count by."""
    return source_group(client_address(request))
