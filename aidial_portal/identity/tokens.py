"""The one ID-token validator.

Library validators accept tokens this portal must refuse (a foreign `aud` when `azp` matches,
any `iss` when claim options are passed, a token without `exp`, `iat` or `sub`), so every check
is named here, defaults included, with the issuer and the algorithms pinned by `TokenPolicy`.

Each refusal raises `IdTokenRejected` carrying a `TokenRejection`, and nothing else: no
token, no claim value, no key material reaches an exception message or a log line.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
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
# Zitadel's ID tokens are a few kilobytes; anything much larger is not one of them.
MAX_TOKEN_LENGTH: Final = 16 * 1024

# JWS extensions change how the payload or signature is read; an ID token uses none of them.
_REFUSED_HEADERS: Final = frozenset({"crit", "b64"})
_REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "exp", "iat")


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
    """Why an ID token was refused: stable codes, safe to log and to count."""

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


class IdTokenRejected(Exception):
    """The ID token was refused; `reason` says why."""

    def __init__(self, reason: TokenRejection) -> None:
        super().__init__(reason)
        self.reason = reason


class KeySource(Protocol):
    """Where the provider's signing keys come from (`ProviderDirectory` in production)."""

    def keys(self) -> KeySet:
        """The current JWKS, usually cached."""
        ...

    def refresh(self) -> KeySet | None:
        """Fetch the JWKS again; None when a refresh is not allowed now (rate limit)."""
        ...


def validate_id_token(
    token: str, *, policy: TokenPolicy, nonce: str, keys: KeySource, now: float
) -> dict[str, Any]:
    """Verify `token` against `policy` and return its claims, or raise `IdTokenRejected`.

    `now` is the current Unix time. `nonce` is the value this sign-in sent to the provider.
    A `ProviderUnavailable` from `keys` is not caught: an unreachable provider is not a bad
    token.
    """
    signature, header = _parse(token)
    alg = header["alg"]
    # The allowlist is checked before any key is touched: `none` and HS* never get this far.
    if alg not in policy.algorithms or alg not in SIGNATURE_ALGORITHMS:
        raise IdTokenRejected(TokenRejection.ALGORITHM_NOT_ALLOWED)
    # `jku`, `x5u`, `jwk` and `x5c` are never read: keys come from the configured issuer only.
    key = _signing_key(header.get("kid"), alg, keys)
    _verify_signature(signature, key, alg)
    claims = _claims(signature.payload)
    _check_claims(claims, policy=policy, nonce=nonce, now=now)
    return claims


def _parse(token: str) -> tuple[CompactSignature, Mapping[str, Any]]:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise IdTokenRejected(TokenRejection.MALFORMED)
    try:
        signature = extract_compact(token.encode("ascii"))
    except (JoseError, ValueError, TypeError) as error:
        raise IdTokenRejected(TokenRejection.MALFORMED) from error
    header = signature.headers()
    # joserfc accepts a header that is JSON but not an object (a list holding "alg").
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise IdTokenRejected(TokenRejection.MALFORMED)
    if _REFUSED_HEADERS & header.keys():
        raise IdTokenRejected(TokenRejection.MALFORMED)
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise IdTokenRejected(TokenRejection.MALFORMED)
    return signature, header


def _signing_key(kid: str | None, alg: str, source: KeySource) -> Key:
    key_type = JWSRegistry.algorithms[alg].key_type
    key_set = source.keys()
    if kid is None:
        # Without a kid the choice is only unambiguous when the provider publishes one key.
        if len(key_set.keys) != 1:
            raise IdTokenRejected(TokenRejection.KID_REQUIRED)
        candidates = _usable(key_set, None, alg, key_type)
    else:
        candidates = _usable(key_set, kid, alg, key_type)
        if not candidates:
            # The provider may have rotated its keys since we cached them: look once more.
            refreshed = source.refresh()
            if refreshed is not None:
                candidates = _usable(refreshed, kid, alg, key_type)
    if not candidates:
        raise IdTokenRejected(TokenRejection.UNKNOWN_KID)
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
        raise IdTokenRejected(TokenRejection.BAD_SIGNATURE) from error
    if not valid:
        raise IdTokenRejected(TokenRejection.BAD_SIGNATURE)


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except (ValueError, TypeError) as error:
        raise IdTokenRejected(TokenRejection.MALFORMED) from error
    if not isinstance(claims, dict):
        raise IdTokenRejected(TokenRejection.MALFORMED)
    return claims


def _check_claims(
    claims: Mapping[str, Any], *, policy: TokenPolicy, nonce: str, now: float
) -> None:
    for name in _REQUIRED_CLAIMS:
        if name not in claims:
            raise IdTokenRejected(TokenRejection.MISSING_CLAIM)
    if claims["iss"] != policy.issuer:
        raise IdTokenRejected(TokenRejection.WRONG_ISSUER)
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise IdTokenRejected(TokenRejection.INVALID_CLAIM)
    _check_audience(claims, policy)
    _check_times(claims, policy, now)
    received = claims.get("nonce")
    if not nonce or not isinstance(received, str):
        raise IdTokenRejected(TokenRejection.NONCE_MISMATCH)
    if not hmac.compare_digest(received.encode("utf-8"), nonce.encode("utf-8")):
        raise IdTokenRejected(TokenRejection.NONCE_MISMATCH)


def _check_audience(claims: Mapping[str, Any], policy: TokenPolicy) -> None:
    audiences = _audiences(claims["aud"])
    if policy.client_id not in audiences:
        raise IdTokenRejected(TokenRejection.WRONG_AUDIENCE)
    if audiences - {policy.client_id} - policy.extra_audiences:
        raise IdTokenRejected(TokenRejection.UNTRUSTED_AUDIENCE)
    # OIDC Core 3.1.3.7: azp names the party the token was issued to, and must be present
    # when the token has several audiences.
    if "azp" in claims:
        if claims["azp"] != policy.client_id:
            raise IdTokenRejected(TokenRejection.WRONG_AZP)
    elif len(audiences) > 1:
        raise IdTokenRejected(TokenRejection.MISSING_CLAIM)


def _check_times(claims: Mapping[str, Any], policy: TokenPolicy, now: float) -> None:
    expires = _numeric_date(claims["exp"])
    issued = _numeric_date(claims["iat"])
    if "auth_time" in claims:
        _numeric_date(claims["auth_time"])
    if now > expires + policy.leeway:
        raise IdTokenRejected(TokenRejection.EXPIRED)
    if issued > now + policy.leeway:
        raise IdTokenRejected(TokenRejection.ISSUED_IN_FUTURE)
    if "nbf" in claims and _numeric_date(claims["nbf"]) > now + policy.leeway:
        raise IdTokenRejected(TokenRejection.NOT_YET_VALID)


def _audiences(value: object) -> frozenset[str]:
    if isinstance(value, str):
        values: list[object] = [value]
    elif isinstance(value, list) and value:
        values = value
    else:
        raise IdTokenRejected(TokenRejection.INVALID_CLAIM)
    if not all(isinstance(item, str) and item for item in values):
        raise IdTokenRejected(TokenRejection.INVALID_CLAIM)
    return frozenset(str(item) for item in values)


def _numeric_date(value: object) -> int:
    # Zitadel issues whole seconds; a bool is an int to Python but never a date.
    if isinstance(value, bool) or not isinstance(value, int):
        raise IdTokenRejected(TokenRejection.INVALID_CLAIM)
    return value
