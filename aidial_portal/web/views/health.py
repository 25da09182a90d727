"""Liveness, readiness and metrics."""

from __future__ import annotations

import hmac
import logging
import os

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aidial_portal import metrics
from aidial_portal.config import is_loopback, is_trusted_api_url
from aidial_portal.identity import providers
from aidial_portal.identity.discovery import ProviderMisconfigured, ProviderUnavailable
from aidial_portal.web.access import public

logger = logging.getLogger("aidial_portal.health")


@public
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive. Needs nothing else: not the database, cache or provider."""
    return JsonResponse({"status": "ok"})


@public
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    checks = {"database": _database(), "cache": _cache(), "provider": _provider()}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
    )


@public
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """With `AIDIAL_METRICS_TOKEN`, the bearer of it. Without one: in debug, a loopback peer
    whose request carries no forwarding header; otherwise no one here (a same-host proxy that
    adds no forwarding header looks like a loopback peer). `AIDIAL_METRICS_LISTEN` serves them
    on a separate loopback port instead, and this route is then not found without the token."""
    config = settings.AIDIAL
    token = config.metrics_token
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token:
        allowed = hmac.compare_digest(offered.encode(), token.encode())
    elif config.metrics_listen is not None:
        return HttpResponse("Not found\n", status=404, content_type="text/plain")
    else:
        local = is_loopback(request.META.get("REMOTE_ADDR", "")) and not _forwarded(request)
        allowed = config.debug and local
    if not allowed:
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    exported = metrics.registry(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    return HttpResponse(generate_latest(exported), content_type=CONTENT_TYPE_LATEST)


# Headers a proxy adds: a request carrying one came through a proxy on this host, so its
# loopback peer address says nothing about who sent it.
FORWARDING_HEADERS = ("HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_CLIENT_IP")


def _forwarded(request: HttpRequest) -> bool:
    return any(
        name in FORWARDING_HEADERS or name.startswith("HTTP_X_FORWARDED_") for name in request.META
    )


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        logger.warning("readiness_database_unavailable")
        return "unavailable"
    return "ok"


def _cache() -> str:
    try:
        cache.set("aidial:readyz", "1", timeout=5)
        ok = cache.get("aidial:readyz") == "1"
    except Exception:
        ok = False
    if not ok:
        logger.warning("readiness_cache_unavailable")
    return "ok" if ok else "unavailable"


def _provider() -> str:
    """`ok`, `unavailable`, or the misconfiguration that refuses every sign-in
    (`issuer_mismatch`, `endpoint_off_origin`, `api_url_untrusted`); the log names the
    setting to change."""
    if not is_trusted_api_url(settings.AIDIAL.api_url):
        logger.error(
            "readiness_api_url_untrusted: AIDIAL_ZITADEL_API_URL must be https (plain http "
            "only on a loopback address)"
        )
        return "api_url_untrusted"
    try:
        providers.directory().metadata()
    except ProviderMisconfigured as problem:
        return problem.reason
    except ProviderUnavailable:
        return "unavailable"
    return "ok"
