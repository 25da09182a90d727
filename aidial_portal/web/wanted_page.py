"""The page the gate refused, named as a person knows it ("MFA compliance"), for Settings to say
what was refused and to offer the way back once the step is done."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.urls import Resolver404, get_script_prefix, resolve

# Pages a person reaches from the navigation; any other protected page is "That page".
TITLES = {
    "dashboard": "The dashboard",
    "administration:compliance": "MFA compliance",
    "administration:compliance-export": "The compliance export",
    "administration:events": "Security events",
    "support:support": "Support",
    "support:requests": "Support requests",
}
SOMEWHERE = "That page"


def wanted_page_title(next_path: str) -> str:
    """The title of the page `next_path` (already checked by `safe_next`) leads to."""
    path = urlsplit(next_path).path
    prefix = get_script_prefix()
    if prefix != "/" and path.startswith(prefix):
        path = "/" + path[len(prefix) :]
    try:
        match = resolve(path)
    except Resolver404:
        return SOMEWHERE
    return TITLES.get(match.view_name, SOMEWHERE)
