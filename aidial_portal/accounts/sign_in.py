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
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.db import transaction
from django.utils import timezone

from aidial_portal import metrics
from aidial_portal.accounts import rollout, session_state
from aidial_portal.accounts.backends import BACKEND
from aidial_portal.accounts.callback_reads import read_at_callback
from aidial_portal.accounts.models import Account, Organisation, RoleGrant, identity_key
from aidial_portal.accounts.permissions import honoured
from aidial_portal.audit.coalescing import record_refusal, refusal_source
from aidial_portal.audit.events import LIFECYCLE_EVENTS, EventTag
from aidial_portal.audit.recording import record
from aidial_portal.config import PortalConfig
from aidial_portal.identity import oidc, providers
from aidial_portal.identity.claims import Grant, roles
from aidial_portal.identity.oidc import Identity, SignIn, auth_time_of
from aidial_portal.identity.sign_out import end_session_url, keep_id_token, remember_sign_out
from aidial_portal.mfa.compliance import status_as_if_required
from aidial_portal.mfa.evidence import Evidence
from aidial_portal.mfa.lifecycle import Change, Observed, advance
from aidial_portal.mfa.policy import Requirement, RoleSet, requirement_for, split_roles
from aidial_portal.sessions import index as session_index

logger = logging.getLogger("aidial_portal.accounts")
rejections = logging.getLogger("aidial_portal.identity")
# Left in the new, anonymous session when the last one hit its absolute limit: the next
# sign-in from this browser must prove the credentials again (no silent single sign-on).
REAUTHENTICATE_KEY = "aidial_reauthenticate"


def require_reauthentication(session: Any) -> None:
    session[REAUTHENTICATE_KEY] = True


def begin(
    request: session_state.SignInRequest,
    *,
    next_path: str,
    refresh_for: str = "",
    login_hint: str = "",
) -> str:
    """The provider's authorisation URL for a new sign-in (or a refresh of `refresh_for`).

    Raises `oidc.SignInRejected`, already logged and recorded, when the provider cannot be used.
    """
    try:
        url = oidc.begin(
            request.session,
            config=settings.AIDIAL,
            directory=providers.directory(),
            next_path=next_path,
            refresh_for=refresh_for,
            login_hint=login_hint,
            reauthenticate=bool(request.session.get(REAUTHENTICATE_KEY)),
        )
    except oidc.SignInRejected as rejected:
        record_rejection(request, rejected)
        raise
    if session_state.load(request.session) is None and REAUTHENTICATE_KEY not in request.session:
        # Anyone can POST /login/ at will: a session holding only this sign-in lasts as long
        # as the sign-in may, not 12 hours. login() gives it the real lifetime. (A session
        # that must re-authenticate came from a signed-in one and keeps its lifetime, so that
        # the demand outlives an abandoned sign-in.)
        request.session.set_expiry(oidc.STATE_TTL)
    return url


def begin_refresh(
    request: session_state.SignInRequest, state: session_state.SignedIn, *, next_path: str
) -> str:
    """A fresh sign-in as the same person, so their security status is read again."""
    url = begin(
        request, next_path=next_path, refresh_for=state.subject, login_hint=state.login_hint
    )
    record(
        EventTag.Session.REFRESH_STARTED,
        account_id=request.sign_in.account_id if request.sign_in else None,
        session_key=request.session.session_key,
    )
    return url


def complete(request: session_state.SignInRequest) -> SignIn:
    """Finish the sign-in the provider redirected back with.

    Raises `oidc.SignInRejected`, already logged and recorded, when the answer is refused.
    """
    started = time.perf_counter()
    try:
        sign_in = oidc.complete(
            request.session,
            request.GET,
            config=settings.AIDIAL,
            directory=providers.directory(),
        )
        identity, evidence = read_identity_and_evidence(sign_in)
    except oidc.SignInRejected as rejected:
        record_rejection(request, rejected)
        raise
    complete_sign_in(request, sign_in, identity, evidence, timezone.now())
    # After login(): the seal is keyed to the session key the browser now holds.
    keep_id_token(request.session, sign_in.id_token, secret=settings.SECRET_KEY)
    metrics.CALLBACK_SECONDS.observe(time.perf_counter() - started)
    return sign_in


def read_identity_and_evidence(sign_in: SignIn) -> tuple[Identity, Evidence]:
    """Roles and profile (userinfo when the ID token lacks them) and what the provider says
    about this sign-in's factors, read side by side within one budget. Evidence never raises
    (an unreadable provider gives evidence marked unavailable); unreadable userinfo refuses
    the sign-in."""
    with metrics.PROVIDER_CALL_SECONDS.time():
        return read_at_callback(
            sign_in,
            config=settings.AIDIAL,
            directory=providers.directory(),
            reader=providers.evidence_reader(),
        )


def complete_sign_in(
    request: session_state.SignInRequest,
    sign_in: SignIn,
    identity: Identity,
    evidence: Evidence,
    now: datetime,
) -> Account:
    """Record what this sign-in showed, and sign the browser in (a new session key and
    CSRF token, whether it is a first sign-in or a refresh)."""
    config: PortalConfig = settings.AIDIAL
    claims = sign_in.claims
    table = session_state.current_role_table()
    held, grants = _portal_grants(identity, config, table)
    requirement = requirement_for(held.known, table)
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
        account.last_status = status_as_if_required(
            evidence,
            now,
            max_age=config.mfa_max_age,
            level=rollout.level_of(held.known, config),
            accepted=config.accepted_factors,
        )
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
        _log_in(request, account)
        state = session_state.SignedIn(
            subject=claims["sub"],
            login_hint=account.login_name,
            roles=held.known,
            requirement=requirement,
            evidence=evidence,
            signed_in_at=now,
            auth_time=auth_time_of(claims),
            grants=grants,
            email=account.email,
            name=account.display_name,
        )
        session_state.store(request.session, state)
        rollout.keep_first_seen(request.session, _first_seen(account, grants, now, config))
        # The rest of this request sees the new sign-in, as the next one will.
        request.sign_in = session_state.load(request.session)
        key = request.session.session_key
        # Back-channel logout and revalidation find this session through its Zitadel session.
        session_index.bind(
            key or "",  # bind() refuses an empty key: nothing could find that session
            sid=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
            subject=claims["sub"],
            account_id=account.pk,
            now=now,
            max_age=config.session_max_age,
        )
        _record_observations(account, key, transition.events, evidence)
        _record_grace(request, state, account, now)
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


def _first_seen(
    account: Account, grants: tuple[Grant, ...], now: datetime, config: PortalConfig
) -> datetime | None:
    """With enrolment deadlines on: note this sign-in's mandatory grants (the first sighting
    of each is kept) and return the earliest, which starts the person's grace period."""
    if config.enrolment_grace_days <= 0:
        return None
    rollout.note_mandatory_grants(account, grants, now)
    return rollout.first_seen_by_account([account.pk]).get(account.pk)


def _record_observations(
    account: Account, key: str | None, changes: Iterable[Change], evidence: Evidence
) -> None:
    """The lifecycle changes this sign-in showed, and an evidence read that failed."""
    for change in changes:
        record(LIFECYCLE_EVENTS[change], account=account, session_key=key)
    if evidence.unavailable:
        record(
            EventTag.Mfa.EVIDENCE_UNAVAILABLE,
            account=account,
            session_key=key,
            reason=evidence.unavailable,
        )


def _record_grace(
    request: session_state.SignInRequest,
    state: session_state.SignedIn,
    account: Account,
    now: datetime,
) -> None:
    """Each sign-in let in on its enrolment deadline is a security event."""
    config: PortalConfig = settings.AIDIAL
    compliance = rollout.session_compliance(state, config, now)
    deadline = rollout.grace_for(request.session, compliance, config, now)
    if deadline is None:
        return
    record(
        EventTag.Mfa.ENROLMENT_GRACE_SIGN_IN,
        account=account,
        session_key=request.session.session_key,
        reason="not_enrolled",
        # Numbers only (events hold tags, ids and counts): the deadline is the event's day
        # plus `days_left`.
        details={
            "grace_days": config.enrolment_grace_days,
            "days_left": deadline.days_left(timezone.localdate(now)),
        },
    )


def _log_in(request: session_state.SignInRequest, account: Account) -> None:
    """Sign the browser in as `account` with a new session key and the signed-in lifetime."""
    # A new session key at every trust change. Django's login() gives one to a session
    # that is not signed in yet, or another person's, but keeps the key of a refresh by
    # the same person: that one is cycled here (once: each cycle writes the session anew).
    before = request.session.session_key
    login(request, account, backend=BACKEND)
    request.session.set_expiry(None)  # the signed-in lifetime, not the pending sign-in's
    request.session.pop(REAUTHENTICATE_KEY, None)  # proved by this sign-in's auth_time
    if request.session.session_key is None:
        # login() flushed another person's session: a flushed session has no key until
        # it is saved, and the session binding must name the key the browser will hold.
        request.session.save()
    elif request.session.session_key == before:
        request.session.cycle_key()


def _portal_grants(
    identity: Identity, config: PortalConfig, table: Mapping[str, Requirement]
) -> tuple[RoleSet, tuple[Grant, ...]]:
    """The portal roles this sign-in shows, and the grants of them the portal honours (global
    roles only from AIDIAL_GLOBAL_ORGANISATION_ID when it is set)."""
    believed = honoured(identity.grants, config.global_org_id)
    if len(believed) != len(identity.grants):
        logger.warning("global_role_from_another_organisation_ignored")
    held = split_roles(roles(believed), table)
    if held.unknown:
        logger.info("unknown_roles_ignored", extra={"roles": list(held.unknown)})
    return held, tuple(grant for grant in believed if grant.role in table)


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
    # The organisations' domains, until a directory sync reads their names.
    Organisation.objects.bulk_create(
        (Organisation(org_id=g.org_id, primary_domain=g.org_domain) for g in grants),
        ignore_conflicts=True,
    )


def record_rejection(request: session_state.SignInRequest, rejected: oidc.SignInRejected) -> None:
    """Log, count and record a refused sign-in (a refused refresh when already signed in)."""
    reason = rejected.reason
    rejections.warning("sign_in_rejected", extra={"reason": reason})
    metrics.SIGN_INS.labels(result=reason).inc()
    # As the request came in: a refused callback changes no sign-in.
    signed_in = request.sign_in is not None
    account_id = request.sign_in.account_id if request.sign_in else None
    # Anyone can repeat a refused callback at will: counted, and written once per window.
    record_refusal(
        EventTag.Session.REFRESH_REFUSED if signed_in else EventTag.SignIn.REJECTED,
        source=refusal_source(request, account_id),
        account_id=account_id,
        session_key=request.session.session_key,
        reason=reason,
    )


def sign_out(request: session_state.SignInRequest) -> str | None:
    """End the portal session, recording it when someone was signed in; return the
    provider's end-session URL (None when it names none: the portal session is over anyway).

    The URL carries the kept ID token as `id_token_hint`, so it is built before the session
    ends; the `state` it carries is remembered in the new, anonymous session.
    """
    if request.sign_in is not None:
        record(
            EventTag.SignIn.SIGNED_OUT,
            account_id=request.sign_in.account_id,
            session_key=request.session.session_key,
        )
    ending = end_session_url(
        request.session,
        config=settings.AIDIAL,
        directory=providers.directory(),
        secret=settings.SECRET_KEY,
    )
    logout(request)
    request.sign_in = None
    if ending is None:
        return None
    url, state = ending
    remember_sign_out(request.session, state)
    return url
