"""Fixtures for the portal's own tests: accounts and signed-in sessions without a provider."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from aidial_portal.accounts import session_state
from aidial_portal.accounts.backends import BACKEND
from aidial_portal.accounts.models import Account, RoleGrant, identity_key
from aidial_portal.identity.claims import Grant
from aidial_portal.mfa.evidence import Evidence, Factor, Source
from aidial_portal.mfa.policy import ROLE_REQUIREMENTS, requirement_for

ISSUER = "http://127.0.0.1:8080"
HOME_ORG = "org-home"  # where an account made without an organisation holds its roles


def evidence(
    *,
    enrolled: bool | None = True,
    factor: Factor | None = Factor.TOTP,
    at: datetime | None = None,
    recovery_codes: bool | None = True,
    source: Source = Source.SESSION,
    unavailable: str | None = None,
) -> Evidence:
    verified = {factor: at or timezone.now()} if factor else {}
    return Evidence(
        source=source,
        totp_enrolled=enrolled,
        recovery_codes_present=recovery_codes,
        verified=verified,
        unavailable=unavailable,
    )


@pytest.fixture
def portal_config(settings: Any) -> Callable[..., None]:
    """Change the portal's typed settings for one test: `portal_config(step_up_max_age=1)`."""

    def change(**changes: Any) -> None:
        settings.AIDIAL = replace(settings.AIDIAL, **changes)

    return change


@pytest.fixture
def make_account(db: None) -> Callable[..., Account]:
    def make(
        sub: str = "user-1",
        roles: Iterable[str] = ("client_staff",),
        *,
        grants: Iterable[Grant] | None = None,
        **fields: Any,
    ) -> Account:
        """`grants` as the provider would send them; by default each role in the account's
        `org_id` (HOME_ORG when none is given; none with an explicitly empty one)."""
        roles = list(roles)
        org_id, org_domain = fields.get("org_id", HOME_ORG), fields.get("org_domain", "")
        held = (
            list(grants)
            if grants is not None
            else [Grant(role, org_id, org_domain) for role in roles if org_id]
        )
        account = Account.objects.create(
            identity_key=identity_key(ISSUER, sub),
            issuer=ISSUER,
            subject=sub,
            login_name=f"{sub}@example.test",
            roles=sorted({*roles, *(grant.role for grant in held)}),
            **fields,
        )
        RoleGrant.objects.bulk_create(
            RoleGrant(account=account, role=g.role, org_id=g.org_id, org_domain=g.org_domain)
            for g in held
        )
        return account

    return make


@pytest.fixture
def sign_in_as(client: Client, make_account: Callable[..., Account]) -> Callable[..., Account]:
    """Sign the test client in with the given roles and MFA evidence, as the callback would."""

    def sign_in(
        roles: Iterable[str] = ("client_staff",),
        seen: Evidence | None = None,
        *,
        sub: str = "user-1",
        account: Account | None = None,
        **fields: Any,
    ) -> Account:
        roles = tuple(roles)
        account = account or make_account(sub=sub, roles=roles, **fields)
        # The session's roles decide, as at a real sign-in: the account's grants of those
        # roles, and the others in the home organisation.
        stored = [
            Grant(row.role, row.org_id, row.org_domain)
            for row in account.grants.order_by("role", "org_id")
            if row.role in roles
        ]
        grants = tuple(
            stored
            + [
                Grant(role, HOME_ORG)
                for role in roles
                if role not in {grant.role for grant in stored} and fields.get("org_id", HOME_ORG)
            ]
        )
        client.force_login(account, backend=BACKEND)
        session = client.session
        session_state.store(
            session,
            session_state.SignedIn(
                subject=account.subject,
                login_hint=account.login_name,
                roles=roles,
                requirement=requirement_for(roles, ROLE_REQUIREMENTS),
                evidence=seen if seen is not None else evidence(),
                signed_in_at=timezone.now(),
                auth_time=timezone.now(),
                grants=grants,
            ),
        )
        session.save()
        return account

    return sign_in


@pytest.fixture(autouse=True)
def _fresh_local_cache() -> Iterator[None]:
    """Each test starts with an empty cache (refusal counters and sessions live there). A
    shared Redis is never flushed: only this run's own keys (its KEY_PREFIX) are deleted."""
    from django.conf import settings
    from django.core.cache import cache

    yield
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith("LocMemCache"):
        cache.clear()
    elif backend.endswith("RedisCache"):
        for key in redis_keys_of_this_run():
            cache.delete(key)


def redis_keys_of_this_run() -> list[str]:
    """This test run's keys in a shared Redis, as the cache API names them."""
    from django.conf import settings
    from django.core.cache import cache

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = cache._cache.get_client(write=False)  # type: ignore[attr-defined]
    # Django stores `key` as `{KEY_PREFIX}:{version}:{key}`.
    return [
        raw.decode().split(":", 2)[2] for raw in client.scan_iter(match=f"{prefix}:*", count=500)
    ]


def bound_browser(
    sub: str, sid: str, *, role: str = "client_staff", issuer: str = ISSUER
) -> tuple[Client, Account]:
    """A new browser signed in as `sub` with `role`, its session bound to Zitadel session `sid`
    as the callback binds it (so back-channel logout and provider events can find it)."""
    from aidial_portal.sessions import index

    account, _ = Account.objects.get_or_create(
        identity_key=identity_key(issuer, sub),
        defaults={"issuer": issuer, "subject": sub, "roles": [role]},
    )
    client = Client()
    client.force_login(account, backend=BACKEND)
    session = client.session
    now = timezone.now()
    session_state.store(
        session,
        session_state.SignedIn(
            subject=sub,
            login_hint=f"{sub}@example.test",
            roles=(role,),
            requirement=requirement_for((role,), ROLE_REQUIREMENTS),
            evidence=evidence(),
            signed_in_at=now,
            auth_time=now,
        ),
    )
    session.save()
    assert session.session_key
    index.bind(
        session.session_key, sid=sid, subject=sub, account_id=account.pk, now=now, max_age=3600
    )
    return client, account
