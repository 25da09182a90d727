"""A test identity provider: RSA keys, a JWKS, and ID tokens shaped like Zitadel's."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeySet, RSAKey
from joserfc.jws import JWSRegistry

from aidial_portal.identity.tokens import TokenPolicy

ISSUER = "https://id.example.test"
CLIENT_ID = "312044223372036854@portal"
PROJECT_ID = "312044223372036850"
SUBJECT = "312044223372036999"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_750_000_000

POLICY = TokenPolicy(issuer=ISSUER, client_id=CLIENT_ID, extra_audiences=frozenset({PROJECT_ID}))

# Removes a claim or header when given as its value.
DROP: Any = object()


@cache
def signing_key(kid: str) -> RSAKey:
    """One RSA key per kid, generated once per test run."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@cache
def ec_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig"})


def public(*keys: Key) -> KeySet:
    """The JWKS a provider publishes for these keys."""
    return KeySet.import_key_set({"keys": [key.as_dict(private=False) for key in keys]})


def claims(**changes: Any) -> dict[str, Any]:
    """ID-token claims as Zitadel issues them after password + TOTP."""
    values: dict[str, Any] = {
        "iss": ISSUER,
        "sub": SUBJECT,
        "aud": [CLIENT_ID, PROJECT_ID],
        "azp": CLIENT_ID,
        "exp": NOW + 300,
        "iat": NOW,
        "auth_time": NOW - 10,
        "amr": ["pwd", "otp", "mfa"],
        "nonce": NONCE,
        "sid": "V2_312044223372036111",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not DROP}


def mint(
    payload: dict[str, Any] | None = None,
    *,
    kid: str = "key-1",
    key: Key | None = None,
    alg: str = "RS256",
    **header: Any,
) -> str:
    """Sign `payload` (default: `claims()`) with the key named `kid` unless `key` is given."""
    values = {"alg": alg, "kid": kid, **header}
    values = {name: value for name, value in values.items() if value is not DROP}
    return jwt.encode(
        values,
        claims() if payload is None else payload,
        signing_key(kid) if key is None else key,
        # Lax on purpose: the test provider must be able to mint what the portal refuses.
        registry=JWSRegistry(algorithms=[alg], strict_check_header=False),
    )


def unsigned(header: Any, payload: Any, signature: bytes = b"") -> str:
    """A compact JWS built by hand, for shapes no library will produce."""

    def segment(value: Any) -> str:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{segment(header)}.{segment(payload)}.{segment(signature) if signature else ''}"


@dataclass
class Clock:
    """A clock that moves only when told to."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeKeys:
    """A `KeySource` whose refresh may publish new keys, or be refused by a rate limit."""

    published: KeySet
    after_refresh: KeySet | None = None
    refresh_allowed: bool = True
    refresh_calls: int = 0
    key_calls: int = field(default=0)

    def keys(self) -> KeySet:
        self.key_calls += 1
        return self.published

    def refresh(self) -> KeySet | None:
        self.refresh_calls += 1
        if not self.refresh_allowed:
            return None
        if self.after_refresh is not None:
            self.published = self.after_refresh
        return self.published
