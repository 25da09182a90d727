"""Settings: the person's security status, and the actions that fix it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from aidial_portal.accounts.lifecycle import change_lifecycle
from aidial_portal.accounts.models import Account
from aidial_portal.accounts.session_state import SignInRequest, current_role_table
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.mfa.lifecycle import (
    Acknowledged,
    CodesReviewed,
    ManagementLaunched,
    RegenerationDeclared,
    ReviewLaunched,
    SetupLaunched,
)
from aidial_portal.web.access import compliance_exempt, signed_in
from aidial_portal.web.gate import REASON_TEXT
from aidial_portal.web.headers import private
from aidial_portal.web.redirects import safe_next
from aidial_portal.web.rollout_status import grace_notice, level_status
from aidial_portal.web.security_status import (
    REFUSAL_TEXT,
    SecurityStatus,
    management_refusal,
    security_status,
)
from aidial_portal.web.wanted_page import wanted_page_title

# One line after each declaration, with the way on beside it (Settings shows it once).
CONFIRMATIONS = {
    "acknowledged": "Thanks: we've noted that you stored your current recovery codes.",
    "reviewed": "Thanks: we've noted that you reviewed your recovery codes.",
    "regenerated": "Thanks: we've noted that you regenerated and stored your recovery codes.",
}


def _status(request: SignInRequest) -> SecurityStatus:
    """This person's status, from their account's markers as stored now."""
    config = settings.AIDIAL
    return security_status(
        signed_in(request),
        Account.objects.get(pk=signed_in(request).account_id).markers(),
        config,
        dict(current_role_table()),
        timezone.now(),
    )


@compliance_exempt
@require_GET
def settings_page(request: SignInRequest) -> HttpResponse:
    config = settings.AIDIAL
    status = _status(request)
    next_path = safe_next(request.GET.get("next"), default="")
    if next_path and status.compliance.compliant and status.next_step is None:
        # The step the gate asked for is done and nothing else is pending: take the person
        # to the page they wanted, saying so there.
        messages.success(request, "Your session meets your role's MFA policy.")
        return HttpResponseRedirect(next_path)
    blocked = status.required and not status.compliance.compliant
    return private(
        render(
            request,
            "portal/settings.html",
            {
                "status": status,
                "next": next_path,
                "wanted_page": wanted_page_title(next_path) if next_path and blocked else "",
                "reason_text": _reason_text(status),
                "evidence_mode": config.evidence_mode.value,
                "level": level_status(signed_in(request), config),
                "grace": grace_notice(request.sign_in, request.session, config),
            },
        )
    )


@compliance_exempt
@require_POST
def open_setup(request: SignInRequest) -> HttpResponse:
    """Open MFA setup: records the launch, then the trusted provider security page, only
    while not enrolled."""
    status = _status(request)
    if not status.setup_url:
        return HttpResponseRedirect(reverse("settings"))
    change_lifecycle(request, signed_in(request).account_id, SetupLaunched(at=timezone.now()))
    return HttpResponseRedirect(status.setup_url)


@compliance_exempt
@require_POST
def open_review(request: SignInRequest) -> HttpResponse:
    """The trusted provider management link (review or regenerate recovery codes, replace the
    authenticator app): records the launch, then the provider security page."""
    status = _status(request)
    if not status.review_url:
        return HttpResponseRedirect(reverse("settings"))
    change_lifecycle(request, signed_in(request).account_id, ReviewLaunched(at=timezone.now()))
    return HttpResponseRedirect(status.review_url)


@compliance_exempt
@require_POST
def acknowledge(request: SignInRequest) -> HttpResponse:
    change_lifecycle(request, signed_in(request).account_id, Acknowledged(at=timezone.now()))
    messages.success(request, CONFIRMATIONS["acknowledged"])
    return HttpResponseRedirect(safe_next(request.POST.get("next"), default=reverse("settings")))


@compliance_exempt
@require_POST
def declare_review(request: SignInRequest) -> HttpResponse:
    """I reviewed my recovery codes: ends a recovery-code reminder, nothing else."""
    change_lifecycle(request, signed_in(request).account_id, CodesReviewed(at=timezone.now()))
    messages.success(request, CONFIRMATIONS["reviewed"])
    return HttpResponseRedirect(_back(request))


@compliance_exempt
@require_POST
def declare_regeneration(request: SignInRequest) -> HttpResponse:
    """I regenerated my recovery codes: the button says the new set is stored, so the
    declaration and the confirmation are recorded together (one step, not two)."""
    change_lifecycle(
        request, signed_in(request).account_id, RegenerationDeclared(at=timezone.now(), stored=True)
    )
    messages.success(request, CONFIRMATIONS["regenerated"])
    return HttpResponseRedirect(_back(request))


@compliance_exempt
@require_POST
def answer_reminder(request: SignInRequest) -> HttpResponse:
    """The one answer to the recovery-code reminder: reviewed, or regenerated and stored."""
    answer = request.POST.get("answer")
    if answer == "reviewed":
        return declare_review(request)
    if answer == "regenerated":
        return declare_regeneration(request)
    messages.error(request, "Choose what you did at the identity provider, then save.")
    return HttpResponseRedirect(_back(request))


@compliance_exempt
@require_POST
def manage_mfa(request: SignInRequest) -> HttpResponse:
    """Manage MFA at the provider: records the launch, then hands over to the provider."""
    state = signed_in(request)
    config = settings.AIDIAL
    refusal = management_refusal(state, config, timezone.now())
    if refusal is not None:
        record(
            EventTag.Mfa.MANAGEMENT_REFUSED,
            account_id=signed_in(request).account_id,
            session_key=request.session.session_key,
            reason=refusal,
        )
        return render(
            request,
            "portal/manage_refused.html",
            {"reason": refusal, "message": REFUSAL_TEXT[refusal]},
            status=403,
        )
    change_lifecycle(request, signed_in(request).account_id, ManagementLaunched(at=timezone.now()))
    return HttpResponseRedirect(config.management_url)


# Said instead of "no authenticator app enrolled yet" when the portal saw one before.
APP_REMOVED_TEXT = (
    "Your role requires multi-factor authentication, and your authenticator app was removed at "
    "the identity provider."
)


def _reason_text(status: SecurityStatus) -> str:
    reason = status.compliance.reason
    if reason is None:
        return ""
    if reason == "not_enrolled" and status.app_removed:
        return APP_REMOVED_TEXT
    return status.evidence_text or REASON_TEXT.get(reason, "")


def _back(request: SignInRequest) -> str:
    """Where a declaration returns: the page it was made on (`back`, the dashboard), or
    Settings, keeping the page the gate interrupted."""
    back = safe_next(request.POST.get("back"), default="")
    if back:
        return back
    next_path = safe_next(request.POST.get("next"), default="")
    return reverse("settings") + ("?" + urlencode({"next": next_path}) if next_path else "")
