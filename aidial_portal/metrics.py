"""Prometheus metrics. Labels are reason tags, never values.

Every family is exported from the start, at zero for each label value the portal knows
(`export_at_zero`): a rate or an alert over a series that appears only at its first event
reads nothing until then.
"""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import start_wsgi_server

from aidial_portal.identity.rejections import Rejection
from aidial_portal.mfa.compliance import Reason
from aidial_portal.mfa.evidence import Unavailable

SIGN_INS = Counter("aidial_sign_ins_total", "Completed and refused sign-ins", ["result"])
GATE_DENIALS = Counter("aidial_gate_denials_total", "Requests refused by the MFA gate", ["reason"])
RECOVERY_CODE_SIGN_INS = Counter(
    "aidial_recovery_code_sign_ins_total", "Sign-ins that used a recovery code"
)
PROVIDER_API_ERRORS = Counter(
    "aidial_provider_api_errors_total", "MFA evidence that could not be read", ["reason"]
)
CALLBACK_SECONDS = Histogram("aidial_callback_seconds", "Time to handle the OIDC callback")
PROVIDER_CALL_SECONDS = Histogram(
    "aidial_provider_call_seconds", "Time to read MFA evidence from the provider"
)
SESSIONS_ENDED = Counter(
    "aidial_sessions_ended_total",
    "Portal sessions ended by lifetime, back-channel logout or revalidation",
    ["reason"],
)
FORWARD_AUTH_REFUSALS = Counter(
    "aidial_forward_auth_refusals_total",
    "Requests to other services refused by forward auth (/auth/forward/)",
    ["reason"],
)

# Every request, by the name of the view that answered (`unmatched` for none) and the class
# of its status (`2xx` ... `5xx`): never the path, which may carry ids.
REQUESTS = Counter(
    "aidial_requests_total", "HTTP requests by view name and status class", ["view", "status"]
)
REQUEST_SECONDS = Histogram("aidial_request_seconds", "Time to answer a request", ["view"])
RATE_LIMITED = Counter(
    "aidial_rate_limited_total", "Requests refused by a rate limit (429)", ["limit"]
)
UNMATCHED_VIEW = "unmatched"
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
SESSION_END_REASONS = ("absolute", "idle", "backchannel_logout", "revalidation")


def export_at_zero(view_names: Iterable[str], rate_limits: Iterable[str] = ()) -> None:
    """Create every labelled series the portal can write, at zero."""
    for limit in rate_limits:
        RATE_LIMITED.labels(limit=limit)
    for result in ("signed_in", "refreshed", *Rejection):
        SIGN_INS.labels(result=str(result))
    for reason in Reason:
        GATE_DENIALS.labels(reason=reason.value)
    for unavailable in Unavailable:
        PROVIDER_API_ERRORS.labels(reason=unavailable.value)
    for ended in SESSION_END_REASONS:
        SESSIONS_ENDED.labels(reason=ended)
    for view in (*view_names, UNMATCHED_VIEW):
        REQUEST_SECONDS.labels(view=view)
        for status in STATUS_CLASSES:
            REQUESTS.labels(view=view, status=status)


def status_class(status: int) -> str:
    return f"{min(max(status // 100, 2), 5)}xx"


def registry(multiprocess_dir: str | None) -> CollectorRegistry:
    """What to export: this process's counts, or (under gunicorn) every worker's added up."""
    if not multiprocess_dir:
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined, path=multiprocess_dir)
    return combined


def serve_on_loopback(
    address: tuple[str, int], *, multiprocess_dir: str | None = None
) -> WSGIServer:
    """`AIDIAL_METRICS_LISTEN`: /metrics on a separate loopback port, without the token (a
    daemon thread; `config` refuses any address off loopback)."""
    host, port = address
    server, _ = start_wsgi_server(port, addr=host, registry=registry(multiprocess_dir))
    return server
