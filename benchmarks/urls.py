"""The portal's URLconf plus the same protected page twice (once gated, once exempt) and the
bare page (`benchmarks.middleware`: a second handler with only session and CSRF middleware).

`/bench/gated/` and `/bench/exempt/` both render the dashboard (one account query, one
template) through an identical one-line wrapper; only the exempt one is marked
`compliance_exempt`, so the gate skips its compliance decision there. The difference between
the two is the cost of the gate's decision for a compliant session.
"""

from django.http import HttpResponse
from django.urls import path

from aidial_portal.accounts import session_state
from aidial_portal.accounts.session_state import SignInRequest
from aidial_portal.urls import handler404, handler500
from aidial_portal.urls import urlpatterns as portal_urlpatterns
from aidial_portal.web.access import compliance_exempt
from aidial_portal.web.views import pages
from benchmarks.middleware import BARE_DASHBOARD_PATH, BARE_PATH, bare_view


def gated_dashboard(request: SignInRequest) -> HttpResponse:
    return pages.dashboard(request)


@compliance_exempt
def exempt_dashboard(request: SignInRequest) -> HttpResponse:
    return pages.dashboard(request)


def bare_dashboard(request: SignInRequest) -> HttpResponse:
    """The dashboard's view behind the bare handler, given the sign-in it reads (there is no
    sign-in middleware in front of it)."""
    request.sign_in = session_state.load(request.session)
    return pages.dashboard(request)


GATED_PATH = "/bench/gated/"
EXEMPT_PATH = "/bench/exempt/"

urlpatterns = [
    path(GATED_PATH.strip("/") + "/", gated_dashboard, name="bench-gated"),
    path(EXEMPT_PATH.strip("/") + "/", exempt_dashboard, name="bench-exempt"),
    path(BARE_PATH.strip("/") + "/", bare_view, name="bench-bare"),
    # Reached only through the bare handler (benchmarks.middleware): no portal middleware.
    path(BARE_DASHBOARD_PATH.strip("/") + "/", bare_dashboard, name="bench-bare-dashboard"),
    *portal_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
