"""Sign-in with the provider: the authorization redirect and the callback's checks.

Authlib's client builds the authorization URL (with PKCE S256) and exchanges the code; the ID
token is then checked by our own validator (`tokens.validate_id_token`) and nothing else.
What a sign-in in flight needs (state, nonce, PKCE verifier, `next`) stays on the server, in
the browser's session, so any instance can finish a sign-in another began.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
import warnings
from collections.abc import Mapping, MutableMapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.oauth2 import OAuth2Error

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 fork; plain httpx is the dependency we chose.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client

from aidial_portal.config import PortalConfig
from aidial_portal.identity.directory import IssuerMismatch, ProviderDirectory, ProviderUnavailable
from aidial_portal.identity.rejections import Rejection
from aidial_portal.identity.tokens import (
    IdTokenRejected,
    TokenPolicy,
    validate_id_token,
)

logger = logging.getLogger("aidial_portal.identity")

PENDING_KEY = "aidial_oidc_pending"
STATE_TTL = 600
MAX_PENDING = 5  # sign-ins begun in other tabs of the same browser
SCOPES = "openid profile email urn:zitadel:iam:org:project:roles"
ROLES_CLAIM = "urn:zitadel:iam:org:project:roles"


class SignInRejected(Exception):
    """A sign-in that must not complete. `reason` is a stable tag for logs and the error page."""

    def __init__(self, reason: Rejection) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderDown(SignInRejected):
    def __init__(self) -> None:
        super().__init__(Rejection.PROVIDER_UNAVAILABLE)


class MisconfiguredIssuer(SignInRejected):
    def __init__(self) -> None:
        super().__init__(Rejection.ISSUER_MISMATCH)


@dataclass(frozen=True)
class Pending:
    state: str
    nonce: str
    code_verifier: str
    next_path: str
    started_at: float
    kind: str  # "sign_in" or "refresh"
    expected_sub: str = ""


@dataclass(frozen=True)
class SignIn:
    claims: Mapping[str, Any]
    pending: Pending


def begin(
    session: MutableMapping[str, Any],
    *,
    config: PortalConfig,
    directory: ProviderDirectory,
    next_path: str,
    refresh_for: str = "",
    login_hint: str = "",
    now: float | None = None,
) -> str:
    """Remember a new sign-in in the session and return the provider's authorization URL.

    A refresh (`refresh_for` = the signed-in subject) forces a new sign-in at the provider.
    """
    endpoint = _metadata(directory)["authorization_endpoint"]
    started = time.time() if now is None else now
    pending = Pending(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        next_path=next_path,
        started_at=started,
        kind="refresh" if refresh_for else "sign_in",
        expected_sub=refresh_for,
    )
    extra: dict[str, str] = {"nonce": pending.nonce}
    if refresh_for:
        extra.update(prompt="login", max_age="0")
    if login_hint:
        extra["login_hint"] = login_hint
    with _client(config) as client:
        url, _ = client.create_authorization_url(
            endpoint, state=pending.state, code_verifier=pending.code_verifier, **extra
        )
    in_flight = {
        state: value
        for state, value in dict(session.get(PENDING_KEY, {})).items()
        if started - value["started_at"] < STATE_TTL
    }
    in_flight[pending.state] = asdict(pending)
    newest = sorted(in_flight.items(), key=lambda item: item[1]["started_at"])[-MAX_PENDING:]
    session[PENDING_KEY] = dict(newest)
    return str(url)


def complete(
    session: MutableMapping[str, Any],
    params: Mapping[str, str],
    *,
    config: PortalConfig,
    directory: ProviderDirectory,
    now: float | None = None,
) -> SignIn:
    """Check the callback and return the validated claims, or raise SignInRejected."""
    current = time.time() if now is None else now
    pending = _take_pending(session, params.get("state", ""), current)
    if "error" in params:
        error = params["error"]
        raise SignInRejected(Rejection.from_provider_error(error))
    code = params.get("code", "")
    if not code:
        raise SignInRejected(Rejection.CODE_MISSING)
    metadata = _metadata(directory)
    try:
        with _client(config) as client:
            token = client.fetch_token(
                metadata["token_endpoint"],
                code=code,
                code_verifier=pending.code_verifier,
                redirect_uri=config.redirect_uri,
            )
    except (OAuth2Error, OAuthError) as error:
        # authlib's httpx client raises OAuthError for a token endpoint's error answer
        # (`invalid_grant` for a used or altered code): a refusal, not a server error.
        logger.warning("token_exchange_refused", extra={"reason": error.error or "unknown"})
        raise SignInRejected(Rejection.TOKEN_EXCHANGE_REFUSED) from None
    except (httpx.HTTPError, ValueError):
        raise ProviderDown() from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInRejected(Rejection.ID_TOKEN_MISSING)
    try:
        claims = validate_id_token(
            id_token,
            policy=TokenPolicy(
                issuer=config.issuer,
                client_id=config.client_id,
                extra_audiences=config.extra_audiences,
            ),
            nonce=pending.nonce,
            keys=directory,
            now=current,
        )
    except IdTokenRejected as rejected:
        raise SignInRejected(Rejection.from_token(rejected.reason)) from None
    except IssuerMismatch:
        raise MisconfiguredIssuer() from None
    except ProviderUnavailable:
        raise ProviderDown() from None
    if pending.kind == "refresh":
        _check_refresh(claims, pending)
    return SignIn(claims=claims, pending=pending)


def roles_of(claims: Mapping[str, Any]) -> tuple[list[str], str, str]:
    """Role keys, and the organisation (id, primary domain) they were granted in."""
    granted = claims.get(ROLES_CLAIM)
    if not isinstance(granted, dict):
        return [], "", ""
    roles = [key for key in granted if isinstance(key, str)]
    for orgs in granted.values():
        if isinstance(orgs, dict) and orgs:
            org_id, domain = next(iter(orgs.items()))
            return roles, str(org_id), str(domain)
    return roles, "", ""


def auth_time_of(claims: Mapping[str, Any]) -> datetime | None:
    value = claims.get("auth_time")
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def _check_refresh(claims: Mapping[str, Any], pending: Pending) -> None:
    """Login V2 does not enforce max_age: the relying party checks auth_time itself."""
    if claims["sub"] != pending.expected_sub:
        raise SignInRejected(Rejection.REFRESH_SUBJECT_MISMATCH)
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int) or auth_time < math.floor(pending.started_at):
        raise SignInRejected(Rejection.REFRESH_NOT_FRESH)


def _take_pending(session: MutableMapping[str, Any], state: str, now: float) -> Pending:
    """Pop the sign-in this state belongs to: single use, this browser only, 10 minutes."""
    in_flight = dict(session.get(PENDING_KEY, {}))
    stored = in_flight.pop(state, None) if state else None
    session[PENDING_KEY] = in_flight
    if stored is None:
        raise SignInRejected(Rejection.STATE_INVALID)
    pending = Pending(**stored)
    if now - pending.started_at >= STATE_TTL:
        raise SignInRejected(Rejection.STATE_EXPIRED)
    return pending


def _metadata(directory: ProviderDirectory) -> dict[str, Any]:
    try:
        return directory.metadata()
    except IssuerMismatch:
        logger.error("issuer_mismatch: discovery names another issuer than AIDIAL_OIDC_ISSUER")
        raise MisconfiguredIssuer() from None
    except ProviderUnavailable:
        raise ProviderDown() from None


def _client(config: PortalConfig) -> OAuth2Client:
    return OAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret or None,
        token_endpoint_auth_method=("none" if config.is_public_client else "client_secret_basic"),
        scope=SCOPES,
        redirect_uri=config.redirect_uri,
        code_challenge_method="S256",
        timeout=5.0,
    )
