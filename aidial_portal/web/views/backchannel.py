"""`POST /oidc/backchannel-logout/`: the provider's back-channel logout requests."""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from aidial_portal.client_address import client_source
from aidial_portal.identity.discovery import ProviderUnavailable
from aidial_portal.identity.tokens import LogoutTokenRejected
from aidial_portal.sessions import backchannel
from aidial_portal.web.access import public
from aidial_portal.web.rate_limits import rate_limited

logger = logging.getLogger("aidial_portal.sessions")


@public
@csrf_exempt  # the provider calls this directly, server to server, with a signed token
@require_POST
@rate_limited("backchannel")
def backchannel_logout(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("logout_token", "")
    try:
        if not token:
            raise LogoutTokenRejected("missing_logout_token")
        backchannel.log_out(token, now=time.time(), source=client_source(request))
    except LogoutTokenRejected as rejected:
        logger.warning("backchannel_logout_refused", extra={"reason": rejected.reason})
        return _no_store(
            JsonResponse(
                {"error": "invalid_request", "error_description": rejected.reason}, status=400
            )
        )
    except ProviderUnavailable as unavailable:
        # Not the token's fault: the provider may send it again.
        logger.warning("backchannel_logout_unavailable", extra={"reason": unavailable.reason})
        return _no_store(JsonResponse({"error": "temporarily_unavailable"}, status=503))
    return _no_store(HttpResponse(status=200))


def _no_store(response: HttpResponse) -> HttpResponse:
    # Back-Channel Logout 1.0, section 2.8.
    response["Cache-Control"] = "no-store"
    return response
