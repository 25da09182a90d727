"""Sign-in with the provider: the authorization redirect and the callback's checks.

The authorization URL (PKCE S256) and the code exchange are plain RFC 6749 / 7636 requests on
the process's shared HTTP client (`identity.http`): a new client per sign-in cost more CPU
than the rest of the sign-in. The ID token is then checked by our own validator
(`tokens.id_token_claims`) and nothing else.
What a sign-in in flight needs (state, nonce, PKCE verifier, `next`) stays on the server, in
the browser's session, so any instance can finish a sign-in another began. Who signed in comes
from the ID token, or from userinfo read beside the sign-in flow's other provider calls.
Nothing here knows about MFA (the flow reads the evidence) or signing out (`sign_out.py`).
"""

from __future__ import annotations

import base64
import logging
import math
import secrets
import time
from collections.abc import Mapping, MutableMapping
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from aidial_portal.config import PortalConfig, is_trusted_api_url
from aidial_portal.identity import http
from aidial_portal.identity.claims import (
    Grant,
    Profile,
    grants_of,
    has_profile,
    has_roles,
    profile_of,
)
from aidial_portal.identity.discovery import (
    ProviderDirectory,
    ProviderMisconfigured,
    ProviderUnavailable,
)
from aidial_portal.identity.rejections import Rejection
from aidial_portal.identity.tokens import (
    IdTokenRejected,
    TokenPolicy,
    TokenRejection,
    id_token_claims,
)

logger = logging.getLogger("aidial_portal.identity")

PENDING_KEY = "aidial_oidc_pending"
STATE_TTL = 600
MAX_PENDING = 5  # sign-ins begun in other tabs of the same browser
TOKEN_TIMEOUT: Final = 5.0


class SignInRejected(Exception):
    """A sign-in that must not complete. `reason` is a stable tag for logs and the error page."""

    def __init__(self, reason: Rejection) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderDown(SignInRejected):
    def __init__(self) -> None:
        super().__init__(Rejection.PROVIDER_UNAVAILABLE)


class MisconfiguredIssuer(SignInRejected):
    """The provider cannot be trusted with these settings; `detail` names what to change."""

    def __init__(self, reason: Rejection = Rejection.ISSUER_MISMATCH, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


@dataclass(frozen=True)
class Pending:
    state: str
    nonce: str
    code_verifier: str
    next_path: str
    started_at: float
    kind: str  # "sign_in" or "refresh"
    expected_sub: str = ""
    # The credentials must be proved again (the last portal session hit its absolute limit).
    fresh: bool = False


@dataclass(frozen=True)
class SignIn:
    """A validated callback. The tokens are secrets: never logged, never in a repr."""

    claims: Mapping[str, Any]
    pending: Pending
    id_token: str = field(default="", repr=False)
    access_token: str = field(default="", repr=False)


def begin(
    session: MutableMapping[str, Any],
    *,
    config: PortalConfig,
    directory: ProviderDirectory,
    next_path: str,
    refresh_for: str = "",
    login_hint: str = "",
    now: float | None = None,
    reauthenticate: bool = False,
) -> str:
    """Remember a new sign-in in the session and return the provider's authorization URL.

    A refresh (`refresh_for` = the signed-in subject) forces a new sign-in at the provider, as
    does `reauthenticate` (no silent single sign-on after the absolute session limit).
    """
    check_endpoints(config)
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
        fresh=reauthenticate,
    )
    params: list[tuple[str, str]] = [
        ("response_type", "code"),
        ("client_id", config.client_id),
        ("redirect_uri", config.redirect_uri),
        ("scope", scopes(config)),
        ("state", pending.state),
        ("nonce", pending.nonce),
        ("code_challenge", create_s256_code_challenge(pending.code_verifier)),
        ("code_challenge_method", "S256"),
    ]
    if refresh_for or reauthenticate:
        params += [("prompt", "login"), ("max_age", "0")]
    if login_hint:
        params.append(("login_hint", login_hint))
    url = add_params_to_uri(endpoint, params)
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
    check_endpoints(config)
    metadata = _metadata(directory)
    token = exchange_code(
        metadata["token_endpoint"], code=code, code_verifier=pending.code_verifier, config=config
    )
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInRejected(Rejection.ID_TOKEN_MISSING)
    access_token = token.get("access_token")
    try:
        claims = id_token_claims(
            id_token,
            policy=token_policy(config),
            nonce=pending.nonce,
            keys=directory,
            now=current,
        )
    except IdTokenRejected as rejected:
        if rejected.reason is TokenRejection.UNTRUSTED_AUDIENCE:
            logger.error(
                "id_token_untrusted_audience: the ID token names an audience that is neither "
                "AIDIAL_OIDC_CLIENT_ID nor AIDIAL_ZITADEL_PROJECT_ID; set "
                "AIDIAL_ZITADEL_PROJECT_ID to the project's id, and list the client ids of the "
                "project's other applications in AIDIAL_OIDC_EXTRA_AUDIENCES"
            )
        raise SignInRejected(Rejection.from_token(rejected.reason)) from None
    except ProviderMisconfigured as problem:
        raise MisconfiguredIssuer(Rejection(problem.reason), problem.detail) from None
    except ProviderUnavailable:
        raise ProviderDown() from None
    if pending.kind == "refresh":
        _check_refresh(claims, pending, skew=config.clock_skew)
    elif pending.fresh:
        _check_fresh(claims, pending, skew=config.clock_skew)
    return SignIn(
        claims=claims,
        pending=pending,
        id_token=id_token,
        access_token=access_token if isinstance(access_token, str) else "",
    )


def check_endpoints(config: PortalConfig) -> None:
    """The settings' own provider URLs: the API is called with a service credential, so it
    must be https (plain http only on loopback, for development)."""
    if not is_trusted_api_url(config.api_url):
        detail = (
            f"AIDIAL_ZITADEL_API_URL {config.api_url!r} must be https (plain http only on a "
            "loopback address): set it to the Zitadel API's https URL"
        )
        logger.error("api_url_untrusted: %s", detail)
        raise MisconfiguredIssuer(Rejection.API_URL_UNTRUSTED, detail)


def scopes(config: PortalConfig) -> str:
    """What to ask Zitadel for. `urn:zitadel:iam:org:project:roles` is a claim name, not a
    scope: Zitadel drops it. Roles come with the projects-roles scope, for the project named
    in the audience scope."""
    asked = ["openid", "profile", "email", "urn:zitadel:iam:org:projects:roles"]
    if config.project_id:
        asked.append(f"urn:zitadel:iam:org:project:id:{config.project_id}:aud")
    return " ".join(asked)


def token_policy(config: PortalConfig) -> TokenPolicy:
    """Zitadel puts the project id in `aud` (with every application of the project)."""
    extra = set(config.extra_audiences)
    if config.project_id:
        extra.add(config.project_id)
    return TokenPolicy(
        issuer=config.issuer, client_id=config.client_id, extra_audiences=frozenset(extra)
    )


def exchange_code(
    endpoint: str, *, code: str, code_verifier: str, config: PortalConfig
) -> dict[str, Any]:
    """The authorization-code grant (RFC 6749, 4.1.3) with PKCE, on the process's client.

    A confidential client authenticates with HTTP Basic (RFC 6749, 2.3.1: both parts
    form-encoded); a public client sends its `client_id` in the body.
    """
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": config.redirect_uri,
        "code_verifier": code_verifier,
    }
    headers = {"Accept": "application/json"}
    if config.is_public_client:
        form["client_id"] = config.client_id
    else:
        pair = f"{quote(config.client_id, safe='')}:{quote(config.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    try:
        response = http.client_for(endpoint).post(
            endpoint, data=form, headers=headers, timeout=TOKEN_TIMEOUT
        )
    except httpx.HTTPError:
        raise ProviderDown() from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code in (400, 401) and isinstance(body, dict) and "error" in body:
        error = body["error"] if isinstance(body["error"], str) else "unknown"
        logger.warning("token_exchange_refused", extra={"reason": error[:64]})
        raise SignInRejected(Rejection.TOKEN_EXCHANGE_REFUSED)
    if response.status_code != 200 or not isinstance(body, dict):
        raise ProviderDown()
    return body


@dataclass(frozen=True)
class Identity:
    """Who signed in: the ID token's subject, their profile and every role grant."""

    subject: str
    profile: Profile
    grants: tuple[Grant, ...]


def start_userinfo(
    sign_in: SignIn, *, config: PortalConfig, directory: ProviderDirectory, deadline: float
) -> Future[dict[str, Any] | None] | None:
    """Begin reading userinfo on the shared executor when the ID token lacks roles or profile
    (Zitadel's default application settings); None when the ID token carries both.

    `deadline` is on `time.monotonic()`. Raises `ProviderDown` when userinfo is needed but
    discovery names no userinfo endpoint (or there is no access token to call it with).
    """
    claims = sign_in.claims
    if has_roles(claims, config.project_id) and has_profile(claims):
        return None
    endpoint = _metadata(directory).get("userinfo_endpoint")
    if not isinstance(endpoint, str) or not sign_in.access_token:
        logger.error("userinfo_unavailable: discovery names no userinfo endpoint")
        raise ProviderDown()
    return http.executor().submit(fetch_userinfo, endpoint, sign_in.access_token, deadline)


def identity_at_callback(
    sign_in: SignIn,
    userinfo: Future[dict[str, Any] | None] | None,
    *,
    config: PortalConfig,
    deadline: float,
) -> Identity:
    """Who signed in, once the userinfo read `start_userinfo` began has answered.

    Userinfo that cannot be read by `deadline` refuses the sign-in (`ProviderDown`): the
    portal will not guess who someone is or which roles they hold. Userinfo about another
    subject refuses it too.
    """
    claims = sign_in.claims
    extra: Mapping[str, Any] = {}
    if userinfo is not None:
        try:
            answer = userinfo.result(timeout=max(0.0, deadline - time.monotonic()))
        except Exception:  # a timeout, or a bug: neither may admit the sign-in
            userinfo.cancel()
            answer = None
        if answer is None:
            raise ProviderDown()
        if answer.get("sub") != claims["sub"]:
            raise SignInRejected(Rejection.USERINFO_SUBJECT_MISMATCH)
        extra = answer
    return identity_of(claims, extra, project_id=config.project_id)


def identity_of(
    claims: Mapping[str, Any], userinfo: Mapping[str, Any], *, project_id: str = ""
) -> Identity:
    """Roles and profile from the ID token when it carries them, otherwise from userinfo."""
    if has_roles(claims, project_id):
        grants = grants_of(claims, project_id)
    elif has_roles(userinfo, project_id):
        grants = grants_of(userinfo, project_id)
    else:
        # Zitadel leaves the claim out when the person holds no role in the project, and also
        # when roles were not asked for properly: say which settings decide it.
        logger.warning(
            "role_claim_missing: neither the ID token nor userinfo carries a roles claim. If "
            "this person holds portal roles, set AIDIAL_ZITADEL_PROJECT_ID to the Zitadel "
            "project's id (the portal asks for its roles with the scope "
            "urn:zitadel:iam:org:project:id:<id>:aud) and grant the roles in that project"
        )
        grants = ()
    profile = profile_of(claims) if has_profile(claims) else profile_of(userinfo)
    return Identity(subject=claims["sub"], profile=profile, grants=grants)


def fetch_userinfo(endpoint: str, access_token: str, deadline: float) -> dict[str, Any] | None:
    """`GET /oidc/v1/userinfo` with the person's access token; None when it cannot be read.

    Only a tag is logged: the access token and the answer are personal.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    try:
        response = http.client_for(endpoint).get(
            endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=remaining,
        )
    except httpx.TimeoutException:
        logger.warning("userinfo_unavailable: provider_timeout")
        return None
    except httpx.HTTPError:
        logger.warning("userinfo_unavailable: provider_unreachable")
        return None
    if response.status_code != 200:
        logger.warning("userinfo_unavailable: status %s", response.status_code)
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        logger.warning("userinfo_unavailable: provider_malformed")
        return None
    return body


def auth_time_of(claims: Mapping[str, Any]) -> datetime | None:
    value = claims.get("auth_time")
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def _check_refresh(claims: Mapping[str, Any], pending: Pending, *, skew: int = 0) -> None:
    """Login V2 does not enforce max_age: the relying party checks auth_time itself.

    Zitadel subtracts the application's clock skew from `auth_time`, so a credential check
    made just after the refresh began may read up to `skew` seconds earlier.
    """
    if claims["sub"] != pending.expected_sub:
        raise SignInRejected(Rejection.REFRESH_SUBJECT_MISMATCH)
    _check_fresh(claims, pending, skew=skew)


def _check_fresh(claims: Mapping[str, Any], pending: Pending, *, skew: int = 0) -> None:
    """The credentials were checked after this sign-in began (`max_age=0` asked for it)."""
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int) or auth_time < math.floor(pending.started_at) - skew:
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
    except ProviderMisconfigured as problem:
        logger.error("%s: %s", problem.reason, problem.detail)
        raise MisconfiguredIssuer(Rejection(problem.reason), problem.detail) from None
    except ProviderUnavailable:
        raise ProviderDown() from None
