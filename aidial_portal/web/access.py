"""Exemptions from the gate live on the view, where a reader of the view sees them.

By default every view needs a signed-in, compliant session. `public` views need neither
(sign-in, callback, health, help); `compliance_exempt` views need a session but not MFA
compliance (Settings and its actions, sign-out, support), so a person can fix their status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from aidial_portal.accounts.session_state import SignedIn, account_id, load

View = TypeVar("View", bound=Callable[..., Any])

PUBLIC = "aidial_public"
COMPLIANCE_EXEMPT = "aidial_compliance_exempt"


def public(view: View) -> View:
    setattr(view, PUBLIC, True)
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


def signed_in(request: HttpRequest) -> SignedIn:
    """The current sign-in, read from the session (no query)."""
    state = load(request.session)
    if state is None:
        raise NotSignedIn
    return state


def signed_in_account_id(request: HttpRequest) -> int:
    """The signed-in account's primary key, read from the session (no query)."""
    found = account_id(request.session)
    if found is None:
        raise NotSignedIn
    return found
