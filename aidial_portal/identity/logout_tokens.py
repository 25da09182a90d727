"""The logout token validator (OpenID Connect Back-Channel Logout 1.0, section 2.6).

A logout token is read with the ID-token validator's own rules (`tokens.py`): the same pinned
algorithms, the same key lookup in the provider's JWKS, the same issuer and audience rules.
Then what makes it a logout token and not an ID token: a recent `iat`, a `jti`, the
back-channel logout event, `sid` and/or `sub`, and never a `nonce`. Whether the `jti` was seen
before is the caller's question (it needs storage shared by every instance).

Each refusal raises `LogoutTokenRejected` with a stable reason code and nothing else.
Reason codes: those of `tokens.py` for the signature, issuer and audience, plus `wrong_typ`,
`stale`, `missing_jti`, `missing_events`, `missing_sid_and_sub`, `nonce_present`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from aidial_portal.identity.tokens import (
    SIGNATURE_ALGORITHMS,
    IdTokenRejected,
    KeySource,
    TokenPolicy,
    _audiences,
    _claims,
    _numeric_date,
    _parse,
    _signing_key,
    _verify_signature,
)

BACKCHANNEL_LOGOUT_EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"
# Section 2.4 recommends explicit typing; a token without `typ`, or with the generic `JWT`,
# is still a JWT and is told apart from an ID token by its claims.
ACCEPTED_TYPES: Final = frozenset({"logout+jwt", "application/logout+jwt", "jwt"})
# How old a logout token may be: the provider sends it when the session ends.
MAX_AGE: Final = 300
_MAX_IDENTIFIER_LENGTH: Final = 255


class LogoutTokenRejected(Exception):
    """The logout token was refused; `reason` is a stable code, safe to log and to answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LogoutToken:
    """What a valid logout token asks for."""

    jti: str
    iat: int
    sid: str | None
    sub: str | None


def validate_logout_token(
    token: str, *, policy: TokenPolicy, keys: KeySource, now: float
) -> LogoutToken:
    """Verify `token` and return what it asks for, or raise `LogoutTokenRejected`.

    A `ProviderUnavailable` from `keys` is not caught: an unreachable provider is not a bad
    token.
    """
    try:
        signature, header = _parse(token)
        _check_type(header)
        alg = header["alg"]
        if alg not in policy.algorithms or alg not in SIGNATURE_ALGORITHMS:
            raise LogoutTokenRejected("algorithm_not_allowed")
        # Every check that needs no key first: a token that fails one never reaches the key
        # lookup, whose unknown-kid refresh of the JWKS anyone could otherwise spend.
        # Nothing here is acted on before the signature is verified.
        logout = _check_claims(_claims(signature.payload), policy=policy, now=now)
        key = _signing_key(header.get("kid"), alg, keys)
        _verify_signature(signature, key, alg)
        return logout
    except IdTokenRejected as rejected:
        raise LogoutTokenRejected(str(rejected.reason)) from None


def _check_type(header: Mapping[str, Any]) -> None:
    if "typ" not in header:
        return
    typ = header["typ"]
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
        raise LogoutTokenRejected("wrong_typ")


def _check_claims(claims: Mapping[str, Any], *, policy: TokenPolicy, now: float) -> LogoutToken:
    for name in ("iss", "aud", "iat"):
        if name not in claims:
            raise LogoutTokenRejected("missing_claim")
    if claims["iss"] != policy.issuer:
        raise LogoutTokenRejected("wrong_issuer")
    _check_audience(claims, policy)
    issued = _numeric_date(claims["iat"])
    if issued > now + policy.leeway:
        raise LogoutTokenRejected("issued_in_future")
    if issued < now - MAX_AGE - policy.leeway:
        raise LogoutTokenRejected("stale")
    if "exp" in claims and now > _numeric_date(claims["exp"]) + policy.leeway:
        raise LogoutTokenRejected("expired")
    jti = claims.get("jti")
    if not _identifier(jti):
        raise LogoutTokenRejected("missing_jti")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise LogoutTokenRejected("missing_events")
    # Section 2.4: a nonce is prohibited, so that an ID token can never pass for a logout token.
    if "nonce" in claims:
        raise LogoutTokenRejected("nonce_present")
    sid, sub = claims.get("sid"), claims.get("sub")
    for value in (sid, sub):
        if value is not None and not _identifier(value):
            raise LogoutTokenRejected("invalid_claim")
    if sid is None and sub is None:
        raise LogoutTokenRejected("missing_sid_and_sub")
    return LogoutToken(jti=str(jti), iat=issued, sid=sid, sub=sub)


def _check_audience(claims: Mapping[str, Any], policy: TokenPolicy) -> None:
    """The ID token's audience rules: our client id, and no audience we do not trust.

    Unlike an ID token, a logout token with several audiences need not name `azp` (Back-Channel
    Logout 1.0 does not define it); when it does, it must be us.
    """
    audiences = _audiences(claims["aud"])
    if policy.client_id not in audiences:
        raise LogoutTokenRejected("wrong_audience")
    if audiences - {policy.client_id} - policy.extra_audiences:
        raise LogoutTokenRejected("untrusted_audience")
    if "azp" in claims and claims["azp"] != policy.client_id:
        raise LogoutTokenRejected("wrong_azp")


def _identifier(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_IDENTIFIER_LENGTH
