"""Exemptions from the gate live on the view, where a reader of the view sees them.

By default every view needs a signed-in, compliant session. `public` views need neither
(sign-in, callback, health, help); `compliance_exempt` views need a session but not MFA
compliance (Settings and its actions, sign-out, support), so a person can fix their status.
`public` also sets Django's own `login_required = False` (as `login_not_required` does), so
Django's `LoginRequiredMiddleware` and anything else reading that attribute agree with the gate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied

from aidial_portal.accounts.session_state import CurrentSignIn, SignInRequest

View = TypeVar("View", bound=Callable[..., Any])

PUBLIC = "aidial_public"
COMPLIANCE_EXEMPT = "aidial_compliance_exempt"


def public(view: View) -> View:
    setattr(view, PUBLIC, True)
    view.login_required = False  # type: ignore[attr-defined]  # Django 5.1's exemption
    return view


def compliance_exempt(view: View) -> View:
    setattr(view, COMPLIANCE_EXEMPT, True)
    return view


def is_public(view: Callable[..., Any]) -> bool:
    return bool(getattr(view, PUBLIC, False))


def is_compliance_exempt(view: Callable[..., Any]) -> bool:
    return bool(getattr(view, COMPLIANCE_EXEMPT, False))


class NotSignedIn(PermissionDenied):
    """Only reachable if the gate were bypassed: refuse rather than assume a session."""


def signed_in(request: SignInRequest) -> CurrentSignIn:
    """`request.sign_in` in a view behind the gate, where it cannot be None: if the gate were
    bypassed, refuse rather than assume a session."""
    if request.sign_in is None:
        raise NotSignedIn
    return request.sign_in
