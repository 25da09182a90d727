"""Flows: the ordered steps behind each action. Each writes its marker change and the
security events that explain it in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest

from aidial_portal import metrics
from aidial_portal.accounts.models import Account, identity_key
from aidial_portal.audit.recording import record
from aidial_portal.config import PortalConfig
from aidial_portal.identity.oidc import SignIn, auth_time_of, roles_of
from aidial_portal.mfa.compliance import evaluate
from aidial_portal.mfa.evidence import Evidence
from aidial_portal.mfa.lifecycle import EventType, Input, Observed, Transition, advance
from aidial_portal.mfa.policy import (
    ROLE_REQUIREMENTS,
    Requirement,
    parse_table,
    requirement_for,
    split_roles,
)
from aidial_portal.sessions import index as session_index
from aidial_portal.web import session_state

logger = logging.getLogger("aidial_portal.accounts")
BACKEND = "aidial_portal.accounts.backends.ProviderAccountBackend"


def role_table(config: PortalConfig) -> Mapping[str, Requirement]:
    """The user guide's table, with the deployment's overrides (checked at start-up)."""
    return {**ROLE_REQUIREMENTS, **parse_table(config.role_table)}


def mfa_status(evidence: Evidence, now: datetime, max_age: int) -> str:
    """Status as if MFA were required: the report tells 'not enrolled' from 'skipped MFA'."""
    compliance = evaluate(Requirement.REQUIRED, evidence, now, max_age=max_age)
    return "compliant" if compliance.compliant else str(compliance.reason)


def complete_sign_in(
    request: HttpRequest, sign_in: SignIn, evidence: Evidence, now: datetime
) -> Account:
    """Record what this sign-in showed, and sign the browser in (a new session key and
    CSRF token, whether it is a first sign-in or a refresh)."""
    config: PortalConfig = settings.AIDIAL
    claims = sign_in.claims
    roles, org_id, org_domain = roles_of(claims)
    table = role_table(config)
    held = split_roles(roles, table)
    if held.unknown:
        logger.info("unknown_roles_ignored", extra={"roles": list(held.unknown)})
    requirement = requirement_for(held.known, table)
    refresh = sign_in.pending.kind == "refresh"
    with transaction.atomic():
        account, _ = Account.objects.select_for_update().get_or_create(
            identity_key=identity_key(config.issuer, claims["sub"]),
            defaults={"issuer": config.issuer, "subject": claims["sub"]},
        )
        account.login_name = _text(claims.get("preferred_username"))
        account.email = _text(claims.get("email"))
        account.display_name = _text(claims.get("name"))
        account.org_id, account.org_domain = org_id, org_domain
        account.roles = list(held.known)
        account.requirement = requirement.value if requirement else ""
        account.last_sign_in_at = now
        account.last_factor = evidence.recognised_factor or ""
        account.last_status = mfa_status(evidence, now, config.mfa_max_age)
        if evidence.unavailable is None:
            account.recovery_codes_observed = evidence.recovery_codes_present
        observed = Observed(
            at=now,
            enrolled=None if evidence.unavailable else evidence.totp_enrolled,
            used_recovery_code=evidence.used_recovery_code,
        )
        transition = advance(account.markers(), observed)
        account.set_markers(transition.markers)
        account.set_unusable_password()
        account.save()
        login(request, account, backend=BACKEND)
        session_state.store(
            request.session,
            session_state.SignedIn(
                subject=claims["sub"],
                login_hint=account.login_name,
                roles=held.known,
                requirement=requirement,
                evidence=evidence,
                signed_in_at=now,
                auth_time=auth_time_of(claims),
            ),
        )
        key = request.session.session_key
        # Back-channel logout and revalidation find this session through its Zitadel session.
        session_index.bind(
            key or "",
            sid=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
            subject=claims["sub"],
            account_id=account.pk,
            now=now,
            max_age=config.session_max_age,
        )
        for event in transition.events:
            record(event, account=account, session_key=key)
        if evidence.unavailable:
            record(
                EventType.EVIDENCE_UNAVAILABLE,
                account=account,
                session_key=key,
                reason=evidence.unavailable,
            )
        record(
            EventType.REFRESH_COMPLETED if refresh else EventType.SIGN_IN_SUCCEEDED,
            account=account,
            session_key=key,
            details={
                "factor": evidence.recognised_factor.value if evidence.recognised_factor else None,
                "requirement": account.requirement or None,
                "status": account.last_status,
            },
        )
    metrics.SIGN_INS.labels(result="refreshed" if refresh else "signed_in").inc()
    if evidence.used_recovery_code:
        metrics.RECOVERY_CODE_SIGN_INS.inc()
    if evidence.unavailable:
        metrics.PROVIDER_API_ERRORS.labels(reason=evidence.unavailable).inc()
    return account


def change_lifecycle(request: HttpRequest, account_id: int, step: Input) -> Transition:
    """Apply one declaration, acknowledgement or launch under a row lock, so that two
    identical POSTs at once leave one result and one event."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        transition = advance(account.markers(), step)
        changed = account.set_markers(transition.markers)
        if changed:
            account.save(update_fields=changed)
        for event in transition.events:
            record(event, account=account, session_key=request.session.session_key)
    return transition


def _text(value: Any) -> str:
    return value[:255] if isinstance(value, str) else ""
