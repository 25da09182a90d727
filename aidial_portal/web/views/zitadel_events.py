"""`POST /zitadel/events/`: Zitadel's Actions v2 event executions (a signed webhook)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from aidial_portal.accounts import provider_events
from aidial_portal.sessions import signature
from aidial_portal.web.access import public

logger = logging.getLogger("aidial_portal.sessions")

# A ContextInfoEvent is a few hundred bytes; the payloads the portal acts on are small.
MAX_BODY = 64 * 1024


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@public
@csrf_exempt  # the provider calls this directly, server to server, signed with a shared key
@require_POST
def zitadel_events(request: HttpRequest) -> HttpResponse:
    key = settings.AIDIAL.actions_signing_key
    try:
        if not key:
            raise _Refused(404, "not_configured")
        body = _body(request)
        signature.verify(request.headers.get(signature.HEADER, ""), body, key, now=time.time())
        event = provider_events.parse(body)
        outcome = provider_events.apply(event, now=timezone.now())
    except _Refused as refused:
        return _answer(refused.status, refused.reason)
    except signature.SignatureRefused as refused:
        return _answer(401, refused.reason)
    except provider_events.EventRefused as refused:
        return _answer(400, refused.reason)
    except provider_events.Replayed:
        return _answer(409, "replayed")
    except DatabaseError as error:
        # Nothing was applied and the event is not marked processed.
        logger.warning("zitadel_event_unavailable", extra={"error": type(error).__name__})
        return _answer(503, "temporarily_unavailable")
    return JsonResponse({"result": outcome})


def _body(request: HttpRequest) -> bytes:
    """The body, read no further than the cap (a declared length over it is not read at all)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = MAX_BODY + 1
    if declared > MAX_BODY:
        raise _Refused(413, "body_too_large")
    body = request.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise _Refused(413, "body_too_large")
    return body


def _answer(status: int, reason: str) -> HttpResponse:
    logger.warning("zitadel_event_refused", extra={"reason": reason, "status": status})
    return JsonResponse({"error": reason}, status=status)
