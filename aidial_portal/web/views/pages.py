"""The dashboard, help, and the pages around them."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from aidial_portal.accounts.models import Account
from aidial_portal.accounts.session_state import SignInRequest, current_role_table
from aidial_portal.mfa.policy import ROLE_TITLES, Requirement
from aidial_portal.web.access import compliance_exempt, public, signed_in
from aidial_portal.web.security_status import RoleRow, duration_text, security_status
from aidial_portal.web.views.errors import UNAVAILABLE


@require_GET
def dashboard(request: SignInRequest) -> HttpResponse:
    # Fresh every request: a marker changed on another device shows on the next page.
    account = Account.objects.get(pk=signed_in(request).account_id)
    config = settings.AIDIAL
    status = security_status(
        signed_in(request),
        account.markers(),
        config,
        dict(current_role_table()),
        timezone.now(),
    )
    return render(
        request,
        "portal/dashboard.html",
        {
            "account": account,
            "role_rows": status.roles,
            "status": status,
        },
    )


@require_POST
def confirm_session(request: SignInRequest) -> HttpResponse:
    """A protected action: confirms that this session may act. The gate refuses it otherwise."""
    state = request.sign_in
    return JsonResponse({"ok": True, "roles": list(state.roles) if state else []})


@public
@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    """Help, signed in or out, and also while the database or Redis is down (the outage pages
    point here): without a readable session it renders without the signed-in navigation."""
    table = current_role_table()  # the role table in force: AIDIAL_ROLE_POLICY applied
    context: dict[str, object] = {
        "max_age_text": duration_text(settings.AIDIAL.mfa_max_age),
        "roles": [
            RoleRow(key, ROLE_TITLES.get(key, key), requirement)
            for key, requirement in table.items()
        ],
        "required_roles": [key for key, value in table.items() if value is Requirement.REQUIRED],
    }
    try:
        request.user.is_authenticated  # noqa: B018 - loads the session now, not mid-template
    except UNAVAILABLE:
        context["base_template"] = "portal/bare.html"
    return render(request, "portal/help.html", context)


@compliance_exempt
@require_GET
def no_access(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/no_access.html", status=403)
