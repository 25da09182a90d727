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

from django.conf import settings
from django.contrib.auth import login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from aidial_portal import metrics
from aidial_portal.accounts import session_state
from aidial_portal.accounts.backends import BACKEND
from aidial_portal.accounts.models import Account, Organisation, RoleGrant, identity_key
from aidial_portal.audit.coalescing import record_refusal, refusal_source
from aidial_portal.audit.events import LIFECYCLE_EVENTS, EventTag
from aidial_portal.audit.recording import record
from aidial_portal.config import PortalConfig
from aidial_portal.identity import oidc, services
from aidial_portal.identity.claims import Grant, roles
from aidial_portal.identity.oidc import Identity, SignIn, auth_time_of
from aidial_portal.mfa.compliance import status_as_if_required
from aidial_portal.mfa.evidence import Evidence
from aidial_portal.mfa.lifecycle import Observed, advance
from aidial_portal.mfa.policy import requirement_for, split_roles
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
        identity, evidence = read_identity_and_evidence(sign_in)
    except oidc.SignInRejected as rejected:
        record_rejection(request, rejected)
        raise
    complete_sign_in(request, sign_in, identity, evidence, timezone.now())
    # After login(): the seal is keyed to the session key the browser now holds.
    oidc.keep_id_token(request.session, sign_in.id_token, secret=settings.SECRET_KEY)
    metrics.CALLBACK_SECONDS.observe(time.perf_counter() - started)
    return sign_in


def read_identity_and_evidence(sign_in: SignIn) -> tuple[Identity, Evidence]:
    """Roles and profile (userinfo when the ID token lacks them) and what the provider says
    about this sign-in's factors, read side by side within one budget. Evidence never raises
    (an unreadable provider gives evidence marked unavailable); unreadable userinfo refuses
    the sign-in."""
    with metrics.PROVIDER_CALL_SECONDS.time():
        return oidc.read_at_callback(
            sign_in,
            config=settings.AIDIAL,
            directory=services.directory(),
            reader=services.evidence_reader(),
        )


def complete_sign_in(
    request: HttpRequest, sign_in: SignIn, identity: Identity, evidence: Evidence, now: datetime
) -> Account:
    """Record what this sign-in showed, and sign the browser in (a new session key and
    CSRF token, whether it is a first sign-in or a refresh)."""
    config: PortalConfig = settings.AIDIAL
    claims = sign_in.claims
    table = session_state.current_role_table()
    held = split_roles(roles(identity.grants), table)
    if held.unknown:
        logger.info("unknown_roles_ignored", extra={"roles": list(held.unknown)})
    requirement = requirement_for(held.known, table)
    grants = tuple(grant for grant in identity.grants if grant.role in table)
    org_id, org_domain = (grants[0].org_id, grants[0].org_domain) if grants else ("", "")
    refresh = sign_in.pending.kind == "refresh"
    with transaction.atomic():
        account, _ = Account.objects.select_for_update().get_or_create(
            identity_key=identity_key(config.issuer, claims["sub"]),
            defaults={"issuer": config.issuer, "subject": claims["sub"]},
        )
        account.login_name = identity.profile.login_name
        account.email = identity.profile.email
        account.display_name = identity.profile.name
        account.org_id, account.org_domain = org_id, org_domain
        account.roles = list(held.known)
        account.requirement = requirement.value if requirement else ""
        account.last_sign_in_at = account.last_login = now
        if account.directory_state:
            # Zitadel just signed the person in: they are active there, whatever the last
            # directory sync read.
            account.directory_state = "active"
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
        _replace_grants(account, grants)
        # The organisations' domains, until a directory sync reads their names.
        Organisation.objects.bulk_create(
            (Organisation(org_id=g.org_id, primary_domain=g.org_domain) for g in grants),
            ignore_conflicts=True,
        )
        # A new session key at every trust change. Django's login() gives one to a session
        # that is not signed in yet, or another person's, but keeps the key of a refresh by
        # the same person: that one is cycled here (once: each cycle writes the session anew).
        before = request.session.session_key
        login(request, account, backend=BACKEND)
        if request.session.session_key == before:
            request.session.cycle_key()
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
                grants=grants,
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


def _replace_grants(account: Account, grants: tuple[Grant, ...]) -> None:
    """Make the account's stored grants exactly this sign-in's (inside its transaction)."""
    wanted = {(grant.org_id, grant.role): grant for grant in grants}
    stored = {(row.org_id, row.role): row for row in account.grants.all()}
    gone = [row.pk for key, row in stored.items() if key not in wanted]
    if gone:
        RoleGrant.objects.filter(pk__in=gone).delete()
    changed = [
        row
        for key, row in stored.items()
        if key in wanted and row.org_domain != wanted[key].org_domain
    ]
    for row in changed:
        row.org_domain = wanted[(row.org_id, row.role)].org_domain
    if changed:
        RoleGrant.objects.bulk_update(changed, ["org_domain"])
    RoleGrant.objects.bulk_create(
        RoleGrant(account=account, role=g.role, org_id=g.org_id, org_domain=g.org_domain)
        for key, g in wanted.items()
        if key not in stored
    )


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


def sign_out(request: HttpRequest) -> str | None:
    """End the portal session, recording it when someone was signed in; return the
    provider's end-session URL (None when it names none: the portal session is over anyway).

    The URL carries the kept ID token as `id_token_hint`, so it is built before the session
    ends; the `state` it carries is remembered in the new, anonymous session.
    """
    if session_state.load(request.session) is not None:
        record(
            EventTag.SignIn.SIGNED_OUT,
            account_id=session_state.account_id(request.session),
            session_key=request.session.session_key,
        )
    ending = oidc.end_session_url(
        request.session,
        config=settings.AIDIAL,
        directory=services.directory(),
        secret=settings.SECRET_KEY,
    )
    logout(request)
    if ending is None:
        return None
    url, state = ending
    oidc.remember_sign_out(request.session, state)
    return url
