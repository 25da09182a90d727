"""The dashboard, help, and the pages around them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from aidial_portal.accounts import session_state
from aidial_portal.accounts.models import Account
from aidial_portal.mfa.policy import ROLE_TITLES
from aidial_portal.web.access import compliance_exempt, public, signed_in_account_id


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    account = Account.objects.get(pk=signed_in_account_id(request))
    return render(
        request,
        "portal/dashboard.html",
        {
            "account": account,
            "role_titles": [ROLE_TITLES.get(role, role) for role in account.roles],
            "ack_pending": bool(account.ack_pending),
            "reminder_active": account.reminder_since is not None,
        },
    )


@require_POST
def confirm_session(request: HttpRequest) -> HttpResponse:
    """A protected action: confirms that this session may act. The gate refuses it otherwise."""
    state = session_state.load(request.session)
    return JsonResponse({"ok": True, "roles": list(state.roles) if state else []})


@public
@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/help.html")


@compliance_exempt
@require_GET
def no_access(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/no_access.html", status=403)
