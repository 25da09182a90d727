"""The sign-in flow: every step from the provider's answer to a signed-in browser, in order.

`complete` validates the callback, reads the MFA evidence, records the account and its
lifecycle markers, logs the browser in, writes the security events, then counts the result.
A refused sign-in is logged, counted and recorded here too, so a view only parses the request
and renders the outcome. The marker change and the events that explain it share one
transaction.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from aidial_portal import metrics
from aidial_portal.accounts import session_state
from aidial_portal.accounts.backends import BACKEND
from aidial_portal.accounts.models import Account, identity_key
from aidial_portal.audit.coalescing import record_refusal, refusal_source
from aidial_portal.audit.events import LIFECYCLE_EVENTS, EventTag
from aidial_portal.audit.recording import record
from aidial_portal.config import PortalConfig
from aidial_portal.identity import oidc, services
from aidial_portal.identity.oidc import SignIn, auth_time_of, roles_of
from aidial_portal.mfa.compliance import status_as_if_required
from aidial_portal.mfa.evidence import Evidence
from aidial_portal.mfa.lifecycle import Observed, advance
from aidial_portal.mfa.policy import requirement_for, role_table, split_roles
from aidial_portal.sessions import index as session_index

logger = logging.getLogger("aidial_portal.accounts")
rejections = logging.getLogger("aidial_portal.identity")


def begin(
    request: HttpRequest, *, next_path: str, refresh_for: str = "", login_hint: str = ""
) -> str:
    """The provider's authorisation URL for a new sign-in (or a refresh of `refresh_for`).

    Raises `oidc.SignInRejected`, already logged and recorded, when the provider cannot be used.
    """
    try:
        return oidc.begin(
            request.session,
            config=settings.AIDIAL,
            directory=services.directory(),
            next_path=next_path,
            refresh_for=refresh_for,
            login_hint=login_hint,
        )
    except oidc.SignInRejected as rejected:
        record_rejection(request, rejected)
        raise


def begin_refresh(request: HttpRequest, state: session_state.SignedIn, *, next_path: str) -> str:
    """A fresh sign-in as the same person, so their security status is read again."""
    url = begin(
        request, next_path=next_path, refresh_for=state.subject, login_hint=state.login_hint
    )
    record(
        EventTag.Session.REFRESH_STARTED,
        account_id=session_state.account_id(request.session),
        session_key=request.session.session_key,
    )
    return url


def complete(request: HttpRequest) -> SignIn:
    """Finish the sign-in the provider redirected back with.

    Raises `oidc.SignInRejected`, already logged and recorded, when the answer is refused.
    """
    started = time.perf_counter()
    try:
        sign_in = oidc.complete(
            request.session,
            request.GET,
            config=settings.AIDIAL,
            directory=services.directory(),
        )
    except oidc.SignInRejected as rejected:
        record_rejection(request, rejected)
        raise
    evidence = read_evidence(sign_in)
    complete_sign_in(request, sign_in, evidence, timezone.now())
    metrics.CALLBACK_SECONDS.observe(time.perf_counter() - started)
    return sign_in


def read_evidence(sign_in: SignIn) -> Evidence:
    """What the provider says about this sign-in's factors (never raises: an unreadable
    provider gives evidence marked unavailable)."""
    claims = sign_in.claims
    with metrics.PROVIDER_CALL_SECONDS.time():
        return services.evidence_reader().read(
            sid=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
            sub=claims["sub"],
            amr=[value for value in claims.get("amr", []) if isinstance(value, str)],
            auth_time=auth_time_of(claims),
        )


def complete_sign_in(
    request: HttpRequest, sign_in: SignIn, evidence: Evidence, now: datetime
) -> Account:
    """Record what this sign-in showed, and sign the browser in (a new session key and
    CSRF token, whether it is a first sign-in or a refresh)."""
    config: PortalConfig = settings.AIDIAL
    claims = sign_in.claims
    roles, org_id, org_domain = roles_of(claims)
    table = role_table(config.role_table)
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
        account.last_status = status_as_if_required(evidence, now, max_age=config.mfa_max_age)
        if evidence.unavailable is None:
            account.recovery_codes_observed = evidence.recovery_codes_present
        observed = Observed(
            at=now,
            enrolled=None if evidence.unavailable else evidence.totp_enrolled,
            used_recovery_code=evidence.used_recovery_code,
        )
        transition = advance(account.markers(), observed)
        account.set_markers(transition.markers)
        if account.has_usable_password():
            # Once, for a new account: changing it again would change Django's session hash
            # for every other session of this person.
            account.set_unusable_password()
        account.save()
        # A new session key at every trust change. Django's login() cycles it only for a
        # session that is not signed in yet; a refresh by the same person needs it too.
        request.session.cycle_key()
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
        for change in transition.events:
            record(LIFECYCLE_EVENTS[change], account=account, session_key=key)
        if evidence.unavailable:
            record(
                EventTag.Mfa.EVIDENCE_UNAVAILABLE,
                account=account,
                session_key=key,
                reason=evidence.unavailable,
            )
        record(
            EventTag.Session.REFRESH_COMPLETED if refresh else EventTag.SignIn.SUCCEEDED,
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


def record_rejection(request: HttpRequest, rejected: oidc.SignInRejected) -> None:
    """Log, count and record a refused sign-in (a refused refresh when already signed in)."""
    reason = rejected.reason
    rejections.warning("sign_in_rejected", extra={"reason": reason})
    metrics.SIGN_INS.labels(result=reason).inc()
    signed_in = session_state.load(request.session) is not None
    account_id = session_state.account_id(request.session) if signed_in else None
    # Anyone can repeat a refused callback at will: counted, and written once per window.
    record_refusal(
        EventTag.Session.REFRESH_REFUSED if signed_in else EventTag.SignIn.REJECTED,
        source=refusal_source(request, account_id),
        account_id=account_id,
        session_key=request.session.session_key,
        reason=reason,
    )


def sign_out(request: HttpRequest) -> None:
    """End the portal session, recording it when someone was signed in."""
    if session_state.load(request.session) is not None:
        record(
            EventTag.SignIn.SIGNED_OUT,
            account_id=session_state.account_id(request.session),
            session_key=request.session.session_key,
        )
    logout(request)


def _text(value: Any) -> str:
    return value[:255] if isinstance(value, str) else ""
