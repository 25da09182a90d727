"""`next` values: a path on this site, or an absolute URL on a host listed for forward auth
(`AIDIAL_FORWARD_AUTH_HOSTS`); anything else becomes the dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.urls import reverse

from aidial_portal.config import host_allowed

MAX_LENGTH = 2000
# A backslash, a control character, a space or DEL.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(value: str | None, default: str | None = None) -> str:
    """`value` if it is a path on this site or a URL on a forward-auth host, else `default`
    (the dashboard unless given)."""
    if default is None:
        default = reverse("dashboard")
    target = safe_target(value, settings.AIDIAL.forward_auth_hosts)
    return default if target is None else target


def safe_target(value: str | None, hosts: Iterable[str]) -> str | None:
    """`value` if a browser sent there stays on this site (a path) or lands on one of `hosts`
    (an absolute http or https URL); None otherwise."""
    if not value or len(value) > MAX_LENGTH:
        return None
    # Browsers treat "\" as "/" and ignore tabs and newlines inside URLs, so refuse them
    # outright, in raw and in percent-decoded form.
    decoded = unquote(value)
    if _UNSAFE.search(value) or _UNSAFE.search(decoded):
        return None
    if value.startswith("/"):
        if value.startswith("//") or decoded.startswith("//"):
            return None
        parts = urlsplit(value)
        return None if parts.scheme or parts.netloc else value
    return value if _on_listed_host(value, hosts) else None


def _on_listed_host(value: str, hosts: Iterable[str]) -> bool:
    """An absolute URL written out in full (`https://host[:port]/...`), with no user-info, whose
    host is listed. Anything a browser might read another way (`https:host`, `https:///host`)
    fails the literal prefix or the host check. Only ASCII: a browser maps other characters
    of a host name (IDNA, full-width slashes) to ones this check would not have seen."""
    if not value.isascii() or not value[:8].lower().startswith(("http://", "https://")):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return False
    if not parts.netloc or "@" in parts.netloc or not parts.hostname:
        return False
    return host_allowed(parts.hostname, hosts)
