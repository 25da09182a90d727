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
from aidial_portal.accounts.models import Account, identity_key
from aidial_portal.mfa.evidence import Evidence, Factor, Source
from aidial_portal.mfa.policy import ROLE_REQUIREMENTS, requirement_for

ISSUER = "http://127.0.0.1:8080"


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
        sub: str = "user-1", roles: Iterable[str] = ("client_staff",), **fields: Any
    ) -> Account:
        return Account.objects.create(
            identity_key=identity_key(ISSUER, sub),
            issuer=ISSUER,
            subject=sub,
            login_name=f"{sub}@example.test",
            roles=list(roles),
            **fields,
        )

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
            ),
        )
        session.save()
        return account

    return sign_in


@pytest.fixture(autouse=True)
def _fresh_local_cache() -> Iterator[None]:
    """Each test starts with an empty local-memory cache (refusal counters live there). A shared
    Redis is never flushed: tests that use one pick their own keys."""
    from django.conf import settings
    from django.core.cache import cache

    yield
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        cache.clear()
