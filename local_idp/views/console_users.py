"""The local provider's administrator view at ``/ui/console/users/``: the command line's
`idp deactivate-user`, `idp remove-totp` and `idp remove-grant` as buttons, for any user.

A development tool like the rest of the provider (loopback only): anyone signed in to the
provider's console may use it; there is no permission model on purpose. Each action calls the
same provisioning function as the command line, so targets get the same signed events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from local_idp import provisioning
from local_idp.models import Grant, IdpSession, User
from local_idp.views.console import _signed_in

USERS_PAGE = "/ui/console/users/"
STATUS_KEY = "local_idp.users_status"


@never_cache
@require_GET
@_signed_in
def users(request: HttpRequest, session: IdpSession) -> HttpResponse:
    people = User.objects.filter(kind=User.HUMAN).order_by("login_name")
    grants: dict[str, list[Grant]] = {}
    for grant in Grant.objects.select_related("organization").order_by("id"):
        grants.setdefault(grant.user_id, []).append(grant)
    status = request.session.pop(STATUS_KEY, {})
    context = {
        "signed_in_as": session.user.login_name,
        "people": [(person, grants.get(person.pk, [])) for person in people],
        "notice": status.get("notice", ""),
        "error": status.get("error", ""),
    }
    return render(request, "local_idp/console_users.html", context)


def _run(request: HttpRequest, action: Callable[[], dict[str, Any]], done: str) -> HttpResponse:
    """Run one provisioning action; back to the list with what happened (or why not)."""
    try:
        result = action()
    except provisioning.ProvisioningError as exc:
        request.session[STATUS_KEY] = {"error": f"Nothing was changed: {exc}."}
        return redirect(USERS_PAGE)
    delivered = result.get("events_delivered", 0)
    events = "1 event was" if delivered == 1 else f"{delivered} events were"
    request.session[STATUS_KEY] = {"notice": f"{done} {events} delivered to the targets."}
    return redirect(USERS_PAGE)


@never_cache
@require_POST
@_signed_in
def deactivate(request: HttpRequest, session: IdpSession) -> HttpResponse:
    login = request.POST.get("login", "")
    return _run(request, lambda: provisioning.deactivate_user(login), f"{login} was deactivated.")


@never_cache
@require_POST
@_signed_in
def remove_totp(request: HttpRequest, session: IdpSession) -> HttpResponse:
    login = request.POST.get("login", "")
    return _run(
        request,
        lambda: provisioning.remove_totp(login),
        f"The authenticator app of {login} was removed, and with it the recovery codes.",
    )


@never_cache
@require_POST
@_signed_in
def remove_grant(request: HttpRequest, session: IdpSession) -> HttpResponse:
    login, grant = request.POST.get("login", ""), request.POST.get("grant", "")
    return _run(
        request,
        lambda: provisioning.remove_grant(login, grant),
        f"The role {grant} was removed from {login}.",
    )
