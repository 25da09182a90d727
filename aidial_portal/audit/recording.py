"""Write a security event: one row, and one structured log line, holding tags, never values."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.db.models import Model
from django.utils import timezone
from django.utils.crypto import salted_hmac

from aidial_portal.audit.events import EventType
from aidial_portal.audit.models import SecurityEvent

logger = logging.getLogger("aidial_portal.security")

# Details are small, non-secret tags: anything else is dropped before it is written. A tag is
# a few short lowercase words ("challenge_not_satisfied"): no digits and no long runs, so
# nothing shaped like a code, a seed, a session key or a digest passes for one.
_TAG = re.compile(r"^(?=.{1,48}$)[a-z]{1,15}(?:[_.:][a-z]{1,15}){0,5}$")
Detail = str | int | bool | None


def hash_session(session_key: str | None) -> str:
    if not session_key:
        return ""
    return salted_hmac("aidial.session-hash", session_key, secret=settings.SECRET_KEY).hexdigest()[
        :32
    ]


def clean_details(details: Mapping[str, Detail] | None) -> dict[str, Detail]:
    clean: dict[str, Detail] = {}
    for key, value in (details or {}).items():
        if not _TAG.match(key):
            continue
        if isinstance(value, str) and not _TAG.match(value):
            continue
        clean[key] = value
    return clean


def record(
    event_type: EventType,
    *,
    account: Model | None = None,
    account_id: int | None = None,
    session_key: str | None = None,
    reason: str = "",
    details: Mapping[str, Detail] | None = None,
    at: datetime | None = None,
) -> SecurityEvent:
    event = SecurityEvent(
        event_type=event_type.value,
        at=at or timezone.now(),
        account_id=account.pk if account is not None else account_id,
        session_hash=hash_session(session_key),
        reason=reason if _TAG.match(reason) else "",
        details=clean_details(details),
    )
    event.save()
    logger.info(
        "security_event",
        extra={
            "security_event": event.event_type,
            "account_id": event.account_id,
            "reason": event.reason,
            "details": event.details,
            "session_hash": event.session_hash,
        },
    )
    return event
