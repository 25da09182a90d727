"""JWTs from the provider: the one signature check, then an ID token's or a logout token's claims.

`verify_signed()` checks what every token from the provider shares: its size and form, an
algorithm from the pinned list, a key from the issuer's own JWKS, the signature. Then
`id_token_claims()` (OpenID Connect Core 1.0, 3.1.3.7) or `logout_token_claims()` (Back-Channel
Logout 1.0, 2.6) checks the claims. Library validators accept tokens this portal must refuse (a
foreign `aud` when `azp` matches, any `iss` when claim options are passed, a token without `exp`,
`iat` or `sub`), so every check is named here, defaults included, with the issuer and the
algorithms pinned by `TokenPolicy`.

Each refusal raises a `TokenRejected` (`IdTokenRejected` or `LogoutTokenRejected`) carrying a
stable reason code, and nothing else: no token, no claim value, no key material reaches an
exception message or a log line. Whether a logout token's `jti` was seen before is the caller's
question (it needs storage shared by every instance).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Protocol

from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet
from joserfc.jws import CompactSignature, JWSRegistry, extract_compact, validate_compact

# Algorithms whose verification key is public. `none` and HS* (the JWKS is public: a shared
# secret taken from it is no secret) can never be configured.
SIGNATURE_ALGORITHMS: Final = frozenset(
    name for name, model in JWSRegistry.algorithms.items() if model.key_type != "oct"
)
MAX_LEEWAY: Final = 60
# Zitadel's tokens are a few kilobytes; anything much larger is not one of them.
MAX_TOKEN_LENGTH: Final = 16 * 1024
BACKCHANNEL_LOGOUT_EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"
# Back-Channel Logout 1.0, 2.4 recommends explicit typing; a token without `typ`, or with the
# generic `JWT` (Zitadel's), is still a JWT and is told apart from an ID token by its claims.
LOGOUT_TOKEN_TYPES: Final = frozenset({"logout+jwt", "application/logout+jwt", "jwt"})
# How old a logout token may be: the provider sends it when the session ends.
LOGOUT_TOKEN_MAX_AGE: Final = 300

# JWS extensions change how the payload or signature is read; our tokens use none of them.
_REFUSED_HEADERS: Final = frozenset({"crit", "b64"})
_ID_TOKEN_REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "exp", "iat")
_LOGOUT_TOKEN_REQUIRED_CLAIMS: Final = ("iss", "aud", "iat")
_MAX_IDENTIFIER_LENGTH: Final = 255


@dataclass(frozen=True)
class TokenPolicy:
    """What a valid ID token from our provider looks like.

    `extra_audiences` lists the other audiences the provider is known to add (Zitadel adds
    the project id); any audience outside `client_id` and this set is refused.
    """

    issuer: str
    client_id: str
    extra_audiences: frozenset[str] = field(default_factory=frozenset)
    algorithms: tuple[str, ...] = ("RS256",)
    leeway: int = 60

    def __post_init__(self) -> None:
        if not self.issuer or not self.client_id:
            raise ValueError("TokenPolicy needs an issuer and a client id")
        if not self.algorithms:
            raise ValueError("TokenPolicy needs at least one algorithm")
        refused = [alg for alg in self.algorithms if alg not in SIGNATURE_ALGORITHMS]
        if refused:
            raise ValueError(
                f"TokenPolicy algorithms must be asymmetric signature algorithms, not {refused}"
            )
        if not 0 <= self.leeway <= MAX_LEEWAY:
            raise ValueError(f"TokenPolicy leeway must be between 0 and {MAX_LEEWAY} seconds")


class TokenRejection(StrEnum):
    """Why an ID token (or the signature, issuer, audience or times of any token from the
    provider) was refused: stable codes, safe to log and to count."""

    MALFORMED = "malformed"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    KID_REQUIRED = "kid_required"
    UNKNOWN_KID = "unknown_kid"
    BAD_SIGNATURE = "bad_signature"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    UNTRUSTED_AUDIENCE = "untrusted_audience"
    WRONG_AZP = "wrong_azp"
    EXPIRED = "expired"
    ISSUED_IN_FUTURE = "issued_in_future"
    NOT_YET_VALID = "not_yet_valid"
    NONCE_MISMATCH = "nonce_mismatch"
    # A `typ` header the caller does not accept (only logout tokens are typed).
    WRONG_TYP = "wrong_typ"


class LogoutRejection(StrEnum):
    """What makes a validly signed token no logout token (Back-Channel Logout 1.0, 2.6)."""

    STALE = "stale"
    MISSING_JTI = "missing_jti"
    MISSING_EVENTS = "missing_events"
    MISSING_SID_AND_SUB = "missing_sid_and_sub"
    NONCE_PRESENT = "nonce_present"


class TokenRejected(Exception):
    """A token from the provider was refused; `reason` is a stable code, safe to log, count
    and answer with."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IdTokenRejected(TokenRejected):
    """The ID token was refused; `reason` says why."""

    reason: TokenRejection

    def __init__(self, reason: TokenRejection) -> None:
        super().__init__(reason)


class LogoutTokenRejected(TokenRejected):
    """The logout token was refused: a `TokenRejection`, a `LogoutRejection`, or the
    receiver's own code (`replayed`, `missing_logout_token`)."""


@dataclass(frozen=True)
class LogoutToken:
    """What a valid logout token asks for."""

    jti: str
    iat: int
    sid: str | None
    sub: str | None


class KeySource(Protocol):
    """Where the provider's signing keys come from (`ProviderDirectory` in production)."""

    def keys(self) -> KeySet:
        """The current JWKS, usually cached."""
        ...

    def refresh(self) -> KeySet | None:
        """Fetch the JWKS again; None when a refresh is not allowed now (rate limit)."""
        ...


def verify_signed(
    token: str,
    *,
    policy: TokenPolicy,
    keys: KeySource,
    accepted_types: frozenset[str] | None = None,
    check_first: Callable[[dict[str, Any]], object] | None = None,
) -> dict[str, Any]:
    """The payload of `token` once its signature is verified, or raise `TokenRejected`.

    Checked in this order: size and compact form, no `crit`/`b64` header, the `typ` header
    (only when `accepted_types` is given: absent, or one of them in any case), `alg` from
    `policy.algorithms` and asymmetric, a usable key from `keys` (by `kid`; without one only
    when the JWKS holds one key; refreshed once for an unknown `kid`), the signature, a JSON
    object payload. No claim is checked here, except by `check_first`: it sees the payload
    before any key is looked up, and raises `TokenRejected` for a token that could never be
    accepted (nothing it returns is used). A `ProviderUnavailable` from `keys` is not caught:
    an unreachable provider is not a bad token.
    """
    signature, header = _parse(token)
    if accepted_types is not None:
        _check_type(header, accepted_types)
    alg = header["alg"]
    # The allowlist is checked before any key is touched: `none` and HS* never get this far.
    if alg not in policy.algorithms or alg not in SIGNATURE_ALGORITHMS:
        raise TokenRejected(TokenRejection.ALGORITHM_NOT_ALLOWED)
    if check_first is not None:
        # Every check that needs no key first: a token that fails one never reaches the key
        # lookup, whose unknown-kid refresh of the JWKS anyone could otherwise spend.
        check_first(_claims(signature.payload))
    # `jku`, `x5u`, `jwk` and `x5c` are never read: keys come from the configured issuer only.
    key = _signing_key(header.get("kid"), alg, keys)
    _verify_signature(signature, key, alg)
    return _claims(signature.payload)


def id_token_claims(
    token: str, *, policy: TokenPolicy, nonce: str, keys: KeySource, now: float
) -> dict[str, Any]:
    """Verify ID token `token` against `policy` and return its claims, or raise
    `IdTokenRejected`.

    `now` is the current Unix time. `nonce` is the value this sign-in sent to the provider.
    """
    try:
        claims = verify_signed(token, policy=policy, keys=keys)
        _check_id_token_claims(claims, policy=policy, nonce=nonce, now=now)
    except TokenRejected as rejected:
        raise IdTokenRejected(TokenRejection(rejected.reason)) from None
    return claims


def logout_token_claims(
    token: str, *, policy: TokenPolicy, keys: KeySource, now: float
) -> LogoutToken:
    """Verify logout token `token` and return what it asks for, or raise
    `LogoutTokenRejected`. The ID token's rules for the signature, issuer and audience, then
    what makes it a logout token and not an ID token: a recent `iat`, a `jti`, the
    back-channel logout event, `sid` and/or `sub`, and never a `nonce`."""
    try:
        claims = verify_signed(
            token,
            policy=policy,
            keys=keys,
            accepted_types=LOGOUT_TOKEN_TYPES,
            check_first=lambda unverified: _check_logout_token_claims(
                unverified, policy=policy, now=now
            ),
        )
        return _check_logout_token_claims(claims, policy=policy, now=now)
    except TokenRejected as rejected:
        raise LogoutTokenRejected(rejected.reason) from None


def _parse(token: str) -> tuple[CompactSignature, Mapping[str, Any]]:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected(TokenRejection.MALFORMED)
    try:
        signature = extract_compact(token.encode("ascii"))
    except (JoseError, ValueError, TypeError) as error:
        raise TokenRejected(TokenRejection.MALFORMED) from error
    header = signature.headers()
    # joserfc accepts a header that is JSON but not an object (a list holding "alg").
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise TokenRejected(TokenRejection.MALFORMED)
    if _REFUSED_HEADERS & header.keys():
        raise TokenRejected(TokenRejection.MALFORMED)
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenRejected(TokenRejection.MALFORMED)
    return signature, header


def _check_type(header: Mapping[str, Any], accepted: frozenset[str]) -> None:
    if "typ" not in header:
        return
    typ = header["typ"]
    if not isinstance(typ, str) or typ.lower() not in accepted:
        raise TokenRejected(TokenRejection.WRONG_TYP)


def _signing_key(kid: str | None, alg: str, source: KeySource) -> Key:
    key_type = JWSRegistry.algorithms[alg].key_type
    key_set = source.keys()
    if kid is None:
        # Without a kid the choice is only unambiguous when the provider publishes one key.
        if len(key_set.keys) != 1:
            raise TokenRejected(TokenRejection.KID_REQUIRED)
        candidates = _usable(key_set, None, alg, key_type)
    else:
        candidates = _usable(key_set, kid, alg, key_type)
        if not candidates:
            # The provider may have rotated its keys since we cached them: look once more.
            refreshed = source.refresh()
            if refreshed is not None:
                candidates = _usable(refreshed, kid, alg, key_type)
    if not candidates:
        raise TokenRejected(TokenRejection.UNKNOWN_KID)
    return candidates[0]


def _usable(key_set: KeySet, kid: str | None, alg: str, key_type: str) -> list[Key]:
    return [
        key
        for key in key_set.keys
        if (kid is None or key.kid == kid)
        and key.key_type == key_type
        and key.get("use") in (None, "sig")
        and key.alg in (None, alg)
    ]


def _verify_signature(signature: CompactSignature, key: Key, alg: str) -> None:
    # Only the token's own (already allowed) algorithm; unregistered headers are ignored.
    registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
    try:
        valid = validate_compact(signature, key, registry=registry)
    except (JoseError, ValueError, TypeError) as error:
        raise TokenRejected(TokenRejection.BAD_SIGNATURE) from error
    if not valid:
        raise TokenRejected(TokenRejection.BAD_SIGNATURE)


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except (ValueError, TypeError) as error:
        raise TokenRejected(TokenRejection.MALFORMED) from error
    if not isinstance(claims, dict):
        raise TokenRejected(TokenRejection.MALFORMED)
    return claims


def _check_id_token_claims(
    claims: Mapping[str, Any], *, policy: TokenPolicy, nonce: str, now: float
) -> None:
    for name in _ID_TOKEN_REQUIRED_CLAIMS:
        if name not in claims:
            raise TokenRejected(TokenRejection.MISSING_CLAIM)
    if claims["iss"] != policy.issuer:
        raise TokenRejected(TokenRejection.WRONG_ISSUER)
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise TokenRejected(TokenRejection.INVALID_CLAIM)
    _check_audience(claims, policy, azp_needed_with_several=True)
    _check_times(claims, policy, now)
    received = claims.get("nonce")
    if not nonce or not isinstance(received, str):
        raise TokenRejected(TokenRejection.NONCE_MISMATCH)
    if not hmac.compare_digest(received.encode("utf-8"), nonce.encode("utf-8")):
        raise TokenRejected(TokenRejection.NONCE_MISMATCH)


def _check_logout_token_claims(
    claims: Mapping[str, Any], *, policy: TokenPolicy, now: float
) -> LogoutToken:
    for name in _LOGOUT_TOKEN_REQUIRED_CLAIMS:
        if name not in claims:
            raise TokenRejected(TokenRejection.MISSING_CLAIM)
    if claims["iss"] != policy.issuer:
        raise TokenRejected(TokenRejection.WRONG_ISSUER)
    _check_audience(claims, policy, azp_needed_with_several=False)
    issued = _numeric_date(claims["iat"])
    if issued > now + policy.leeway:
        raise TokenRejected(TokenRejection.ISSUED_IN_FUTURE)
    if issued < now - LOGOUT_TOKEN_MAX_AGE - policy.leeway:
        raise TokenRejected(LogoutRejection.STALE)
    if "exp" in claims and now > _numeric_date(claims["exp"]) + policy.leeway:
        raise TokenRejected(TokenRejection.EXPIRED)
    jti = claims.get("jti")
    if not _identifier(jti):
        raise TokenRejected(LogoutRejection.MISSING_JTI)
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise TokenRejected(LogoutRejection.MISSING_EVENTS)
    # Section 2.4: a nonce is prohibited, so that an ID token can never pass for a logout token.
    if "nonce" in claims:
        raise TokenRejected(LogoutRejection.NONCE_PRESENT)
    sid, sub = claims.get("sid"), claims.get("sub")
    for value in (sid, sub):
        if value is not None and not _identifier(value):
            raise TokenRejected(TokenRejection.INVALID_CLAIM)
    if sid is None and sub is None:
        raise TokenRejected(LogoutRejection.MISSING_SID_AND_SUB)
    return LogoutToken(jti=str(jti), iat=issued, sid=sid, sub=sub)


def _check_audience(
    claims: Mapping[str, Any], policy: TokenPolicy, *, azp_needed_with_several: bool
) -> None:
    """Our client id, and no audience we do not trust; `azp`, when present, is us."""
    audiences = _audiences(claims["aud"])
    if policy.client_id not in audiences:
        raise TokenRejected(TokenRejection.WRONG_AUDIENCE)
    if audiences - {policy.client_id} - policy.extra_audiences:
        raise TokenRejected(TokenRejection.UNTRUSTED_AUDIENCE)
    # OIDC Core 3.1.3.7: azp names the party an ID token was issued to, and must be present
    # when it has several audiences. Back-Channel Logout 1.0 does not define azp: a logout
    # token with several audiences need not name it.
    if "azp" in claims:
        if claims["azp"] != policy.client_id:
            raise TokenRejected(TokenRejection.WRONG_AZP)
    elif azp_needed_with_several and len(audiences) > 1:
        raise TokenRejected(TokenRejection.MISSING_CLAIM)


def _check_times(claims: Mapping[str, Any], policy: TokenPolicy, now: float) -> None:
    expires = _numeric_date(claims["exp"])
    issued = _numeric_date(claims["iat"])
    if "auth_time" in claims:
        _numeric_date(claims["auth_time"])
    if now > expires + policy.leeway:
        raise TokenRejected(TokenRejection.EXPIRED)
    if issued > now + policy.leeway:
        raise TokenRejected(TokenRejection.ISSUED_IN_FUTURE)
    if "nbf" in claims and _numeric_date(claims["nbf"]) > now + policy.leeway:
        raise TokenRejected(TokenRejection.NOT_YET_VALID)


def _audiences(value: object) -> frozenset[str]:
    if isinstance(value, str):
        values: list[object] = [value]
    elif isinstance(value, list) and value:
        values = value
    else:
        raise TokenRejected(TokenRejection.INVALID_CLAIM)
    if not all(isinstance(item, str) and item for item in values):
        raise TokenRejected(TokenRejection.INVALID_CLAIM)
    return frozenset(str(item) for item in values)


def _numeric_date(value: object) -> int:
    # Zitadel issues whole seconds; a bool is an int to Python but never a date.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TokenRejected(TokenRejection.INVALID_CLAIM)
    return value


def _identifier(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_IDENTIFIER_LENGTH
