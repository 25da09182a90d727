"""What the portal keeps in the session about the current sign-in, so that the gate can
decide with no database query and no network call.

`load` parses it into a `CurrentSignIn`; the sign-in middleware (`web/signed_in_account.py`)
does that once per request and hands it on as `request.sign_in`, which everything else reads.

The session keeps every (role, organisation) grant; the MFA requirement is not frozen in it
but computed on every load from the grants and the role table in force (parsed once per
settings object), so a tightened `AIDIAL_ROLE_POLICY` applies on the next request.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from aidial_portal.identity.claims import Grant
from aidial_portal.mfa.compliance import Compliance
from aidial_portal.mfa.evidence import Evidence
from aidial_portal.mfa.policy import Requirement, requirement_for, role_table, split_roles

SESSION_KEY = "aidial_mfa"
AUTH_KEY = "_auth_user_id"  # set by django.contrib.auth.login()


@dataclass(frozen=True)
class SignedIn:
    """`roles` are the portal roles held in any organisation and `requirement` the strictest
    of theirs, both under the current role table when loaded; `grants` say where each role is
    held (empty only for a session stored without them)."""

    subject: str
    login_hint: str
    roles: tuple[str, ...]
    requirement: Requirement | None
    evidence: Evidence
    signed_in_at: datetime
    auth_time: datetime | None
    grants: tuple[Grant, ...] = ()
    # From the provider's profile at sign-in, for forward auth's identity headers (empty for
    # a session stored without them).
    email: str = ""
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class CurrentSignIn(SignedIn):
    """The current request's sign-in: what the session holds, and the account it names."""

    account_id: int

    def compliance(self, now: datetime) -> Compliance:
        """Does this sign-in satisfy its roles' MFA requirement at `now`, at their level
        (`AIDIAL_ROLE_LEVELS`) and with the accepted factors? A sign-in with no portal role is
        not compliant (the gate refuses it before asking)."""
        # rollout reads the role table from this module: imported here, not at the top.
        from aidial_portal.accounts.rollout import session_compliance

        return session_compliance(self, settings.AIDIAL, now)


class SignInRequest(HttpRequest):
    """A request as the portal's middleware leaves it: `sign_in` beside `user`."""

    sign_in: CurrentSignIn | None


class _TableCache:
    """The role table of the settings object in force, parsed once per settings object."""

    def __init__(self) -> None:
        self.raw: object = None
        self.table: Mapping[str, Requirement] = {}

    def current(self) -> Mapping[str, Requirement]:
        raw = settings.AIDIAL.role_table
        if raw is not self.raw:
            # Checked at start-up (system check), so this never raises in a running portal.
            self.table, self.raw = role_table(raw), raw
        return self.table


_tables = _TableCache()


def current_role_table() -> Mapping[str, Requirement]:
    return _tables.current()


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
        "grants": [grant.to_list() for grant in state.grants],
        "email": state.email,
        "name": state.name,
    }


def load(session: Mapping[str, Any]) -> CurrentSignIn | None:
    """The session's sign-in, or None when it is not signed in (or is unreadable).

    Read once per request by the sign-in middleware: everything else reads `request.sign_in`.
    """
    found = account_id(session)
    if found is None:
        return None
    raw = session.get(SESSION_KEY)
    if not isinstance(raw, dict):
        return None
    return _parse(raw, current_role_table(), found)


def _parse(
    raw: dict[str, Any], table: Mapping[str, Requirement], found: int
) -> CurrentSignIn | None:
    try:
        grants = tuple(Grant.from_list(item) for item in raw.get("grants", ()))
        held = {grant.role for grant in grants} | {str(role) for role in raw["roles"]}
        known = split_roles(held, table).known
        return CurrentSignIn(
            account_id=found,
            subject=str(raw["subject"]),
            login_hint=str(raw["login_hint"]),
            roles=known,
            requirement=requirement_for(known, table),
            evidence=Evidence.from_dict(raw["evidence"]),
            signed_in_at=datetime.fromisoformat(raw["signed_in_at"]),
            auth_time=datetime.fromisoformat(raw["auth_time"]) if raw["auth_time"] else None,
            grants=tuple(grant for grant in grants if grant.role in table),
            email=str(raw.get("email", "")),
            name=str(raw.get("name", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None
