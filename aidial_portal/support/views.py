"""The Support page (every signed-in person, compliant or not) and the request list.

A message the secret guard refuses is neither stored nor logged: the refusal event carries
the kind of secret as its reason, and nothing of the text.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from aidial_portal.accounts.permissions import may_read_support_requests
from aidial_portal.accounts.session_state import SignInRequest
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.support.delivery import deliver
from aidial_portal.support.forms import SupportForm
from aidial_portal.support.models import Delivery, SupportRequest
from aidial_portal.support.refusals import REFUSALS
from aidial_portal.support.secret_guard import find_secret
from aidial_portal.web.access import compliance_exempt, signed_in
from aidial_portal.web.headers import private
from aidial_portal.web.pagination import Ordering, paginate
from aidial_portal.web.rate_limits import rate_limited

NEWEST_FIRST = Ordering("created_at", descending=True)
PAGE_SIZE = 50


@compliance_exempt
@sensitive_post_parameters("subject", "message")
@sensitive_variables("form", "data")
@require_http_methods(["GET", "POST"])
@rate_limited("support", methods=("POST",))
def support_page(request: SignInRequest) -> HttpResponse:
    refusal = None
    if request.method == "POST":
        form = SupportForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            kind = find_secret(f"{data['subject']}\n{data['message']}")
            if kind is None:
                account_id = signed_in(request).account_id
                support_request = SupportRequest.objects.create(
                    account_id=account_id,
                    subject=data["subject"],
                    message=data["message"],
                    created_at=timezone.now(),
                )
                record(
                    EventTag.Support.REQUEST_SENT,
                    account_id=account_id,
                    session_key=request.session.session_key,
                    details={"support_request": support_request.pk},
                )
                # Stored and recorded first: whatever e-mail does now, nothing is lost.
                delivery = deliver(support_request)
                return HttpResponseRedirect(
                    reverse("support:support")
                    + "?"
                    + urlencode({"sent": "1", "delivery": delivery})
                )
            record(
                EventTag.Support.REQUEST_REFUSED,
                account_id=signed_in(request).account_id,
                session_key=request.session.session_key,
                reason=kind.value,
            )
            refusal = REFUSALS[kind]
    else:
        form = SupportForm()
    state = request.sign_in
    return private(
        render(
            request,
            "support/support.html",
            {
                "form": form,
                "refusal": refusal,
                "sent": request.method == "GET" and request.GET.get("sent") == "1",
                "delivery": request.GET.get("delivery", ""),
                "email_enabled": settings.AIDIAL.support_email_enabled,
                "can_read": bool(state and may_read_support_requests(state.roles)),
            },
            status=200,
        )
    )


@require_GET
def support_requests(request: SignInRequest) -> HttpResponse:
    state = request.sign_in
    if state is None or not may_read_support_requests(state.roles):
        raise PermissionDenied("Support requests are for AiDial administrators and operators.")
    page = paginate(
        SupportRequest.objects.select_related("account"),
        NEWEST_FIRST,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=PAGE_SIZE,
    )
    failed = SupportRequest.objects.filter(delivery=Delivery.FAILED).count()
    return private(
        render(
            request,
            "support/requests.html",
            {
                "page": page,
                "filters": "",
                "failed": failed,
                "email_enabled": settings.AIDIAL.support_email_enabled,
            },
        )
    )
