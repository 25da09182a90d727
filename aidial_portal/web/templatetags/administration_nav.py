"""Navigation links for administrators, decided from `request.sign_in` alone (no query)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from aidial_portal.accounts.permissions import may_read_support_requests, may_view_reports

register = template.Library()


@register.simple_tag(takes_context=True)
def signed_in(context: dict[str, Any]) -> bool:
    """Whether the request has a sign-in: the navigation's test, without loading the account
    (`request.user` would cost every page a second query for a row the view may have read)."""
    return getattr(context.get("request"), "sign_in", None) is not None


@register.simple_tag(takes_context=True)
def administration_links(context: dict[str, Any]) -> list[dict[str, str]]:
    state = getattr(context.get("request"), "sign_in", None)
    if state is None:
        return []
    links = []
    if may_view_reports(state.roles):
        links.append({"label": "MFA compliance", "url": reverse("administration:compliance")})
        links.append({"label": "Security events", "url": reverse("administration:events")})
    if may_read_support_requests(state.roles):
        links.append({"label": "Support requests", "url": reverse("support:requests")})
    return links
