"""What the portal keeps in the session about the current sign-in, so that the gate can
decide with no database query and no network call."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aidial_portal.mfa.evidence import Evidence
from aidial_portal.mfa.policy import Requirement

SESSION_KEY = "aidial_mfa"
AUTH_KEY = "_auth_user_id"  # set by django.contrib.auth.login()


@dataclass(frozen=True)
class SignedIn:
    subject: str
    login_hint: str
    roles: tuple[str, ...]
    requirement: Requirement | None
    evidence: Evidence
    signed_in_at: datetime
    auth_time: datetime | None


def account_id(session: Mapping[str, Any]) -> int | None:
    """The signed-in account's primary key, read from the session without a query."""
    try:
        return int(session[AUTH_KEY])
    except (KeyError, TypeError, ValueError):
        return None


def store(session: MutableMapping[str, Any], state: SignedIn) -> None:
    session[SESSION_KEY] = {
        "subject": state.subject,
        "login_hint": state.login_hint,
        "roles": list(state.roles),
        "requirement": state.requirement.value if state.requirement else None,
        "evidence": state.evidence.to_dict(),
        "signed_in_at": state.signed_in_at.isoformat(),
        "auth_time": state.auth_time.isoformat() if state.auth_time else None,
    }


def load(session: Mapping[str, Any]) -> SignedIn | None:
    """The current sign-in, or None when the session is not signed in (or is unreadable)."""
    if AUTH_KEY not in session:
        return None
    raw = session.get(SESSION_KEY)
    if not isinstance(raw, dict):
        return None
    try:
        return SignedIn(
            subject=str(raw["subject"]),
            login_hint=str(raw["login_hint"]),
            roles=tuple(str(role) for role in raw["roles"]),
            requirement=Requirement(raw["requirement"]) if raw["requirement"] else None,
            evidence=Evidence.from_dict(raw["evidence"]),
            signed_in_at=datetime.fromisoformat(raw["signed_in_at"]),
            auth_time=datetime.fromisoformat(raw["auth_time"]) if raw["auth_time"] else None,
        )
    except (KeyError, TypeError, ValueError):
        return None
