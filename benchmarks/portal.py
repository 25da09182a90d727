"""Accounts and signed-in sessions, made the way the portal's callback makes them.

Needs Django configured (the benchmark processes call `infra.django_ready()` first).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string

from aidial_portal.accounts import session_state
from aidial_portal.accounts.backends import BACKEND
from aidial_portal.accounts.models import Account, identity_key
from aidial_portal.identity.claims import Grant
from aidial_portal.mfa.evidence import Evidence, Factor, Source
from aidial_portal.mfa.policy import ROLE_REQUIREMENTS, requirement_for

ISSUER = "http://127.0.0.1:8080"
MANDATORY_ROLE = "partner_admin"


def compliant_evidence() -> Evidence:
    """TOTP enrolled and verified just now: what a compliant mandatory-role sign-in holds."""
    return Evidence(
        source=Source.SESSION,
        totp_enrolled=True,
        recovery_codes_present=True,
        verified={Factor.TOTP: timezone.now()},
    )


def account(subject: str, roles: Sequence[str] = (MANDATORY_ROLE,)) -> Account:
    made, _ = Account.objects.get_or_create(
        identity_key=identity_key(ISSUER, subject),
        defaults={
            "issuer": ISSUER,
            "subject": subject,
            "login_name": f"{subject}@bench.test",
            "roles": list(roles),
        },
    )
    return made


def signed_in_client(who: Account, client: Client | None = None) -> Client:
    """A test Client signed in as `who` with a compliant session (as the callback leaves it)."""
    client = client or Client()
    client.force_login(who, backend=BACKEND)
    session = client.session
    roles = tuple(who.roles)
    grants = tuple(
        Grant(row.role, row.org_id, row.org_domain) for row in who.grants.order_by("role", "org_id")
    ) or tuple(Grant(role, who.org_id or "org-bench") for role in roles)
    session_state.store(
        session,
        session_state.SignedIn(
            subject=who.subject,
            login_hint=who.login_name,
            roles=roles,
            requirement=requirement_for(roles, ROLE_REQUIREMENTS),
            evidence=compliant_evidence(),
            signed_in_at=timezone.now(),
            auth_time=timezone.now(),
            grants=grants,
        ),
    )
    session.save()
    return client


def session_cookie(client: Client) -> str:
    """The `Cookie:` header value for this client's session alone."""
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def csrf_secret() -> str:
    """A CSRF cookie value of the kind Django sets (32 letters and digits)."""
    return get_random_string(32, CSRF_ALLOWED_CHARS)


def browser_cookie(client: Client, csrf: str | None = None) -> str:
    """The `Cookie:` header a browser sends once signed in: the session and the CSRF cookie
    that the first page with a form set (without it, every page would mint a new secret)."""
    return f"{session_cookie(client)}; {settings.CSRF_COOKIE_NAME}={csrf or csrf_secret()}"


def database_description() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        version = connection.cursor().connection.info.server_version
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor
