"""`{% enrolment_grace as grace %}`: the enrolment-deadline banner's facts, from the request's
sign-in and its session alone (no query), for every page."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from aidial_portal.web.rollout_status import GraceNotice, grace_notice

register = template.Library()


@register.simple_tag(takes_context=True)
def enrolment_grace(context: dict[str, Any]) -> GraceNotice | None:
    request = context.get("request")
    session = getattr(request, "session", None)
    if session is None or settings.AIDIAL.enrolment_grace_days <= 0:
        return None
    return grace_notice(getattr(request, "sign_in", None), session, settings.AIDIAL)
