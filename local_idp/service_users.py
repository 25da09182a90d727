"""Service users: Zitadel's key files and the JWT profile grant (RFC 7523).

``idp service-key`` writes a key file shaped as Zitadel's
(``{"type":"serviceaccount","keyId","key","userId"}``, mode 0600); only the public half of the
key stays at the provider. A service user exchanges an assertion signed with that key (RS256,
``iss`` = ``sub`` = user id, ``aud`` = issuer, header ``kid`` = key id) for a bearer access
token, which the Zitadel API accepts like a personal access token.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from joserfc.jws import extract_compact

from local_idp import config, crypto
from local_idp.claims import ZITADEL_API_AUDIENCE_SCOPE
from local_idp.models import PersonalAccessToken, ServiceKey, User

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCESS_TOKEN_LIFETIME = timedelta(hours=12)  # Zitadel's default access token lifetime
KEY_LIFETIME = timedelta(days=365)
MAX_ASSERTION_LIFETIME = timedelta(hours=1)
LEEWAY = 5  # seconds of clock difference tolerated in iat / exp


class GrantError(Exception):
    """An OAuth error for the token endpoint (RFC 6749 §5.2)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@transaction.atomic
def new_key_file(user: User, out: Path | None = None) -> dict[str, Any]:
    """A new key of ``user``, written to ``out`` (default: the data directory)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expires = timezone.now() + KEY_LIFETIME
    key = ServiceKey.objects.create(
        user=user, public_key_pem=public_pem.decode("ascii"), expires_at=expires
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    path = out or config.data_dir() / f"service-key-{key.id}.json"
    config.write_private_file(
        path,
        json.dumps(
            {
                "type": "serviceaccount",
                "keyId": key.id,
                "key": private_pem,
                "expirationDate": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "userId": user.id,
            }
        ),
    )
    return {"path": str(path.resolve()), "user_id": user.id, "key_id": key.id}


def _claims(assertion: str) -> dict[str, Any]:
    try:
        # Unverified: only to find the key to verify with.
        header = extract_compact(assertion.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError) as error:
        raise GrantError("invalid_grant", "The assertion is not a JWT.") from error
    if header.get("alg") != "RS256":
        raise GrantError("invalid_grant", "The assertion must be signed with RS256.")
    key = (
        ServiceKey.objects.filter(pk=str(header.get("kid") or ""), expires_at__gt=timezone.now())
        .select_related("user")
        .first()
    )
    if key is None:
        raise GrantError("invalid_grant", "The assertion's key (kid) is not known.")
    try:
        token = jwt.decode(assertion, RSAKey.import_key(key.public_key_pem), algorithms=["RS256"])
    except (JoseError, ValueError) as error:
        raise GrantError("invalid_grant", "The assertion's signature is not valid.") from error
    claims = dict(token.claims)
    if not (claims.get("iss") == claims.get("sub") == key.user_id):
        raise GrantError("invalid_grant", "iss and sub must be the key's user id.")
    return claims


def _check_times(claims: dict[str, Any], now: float) -> None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise GrantError("invalid_grant", "The assertion needs iat and exp.")
    if exp + LEEWAY < now:
        raise GrantError("invalid_grant", "The assertion has expired.")
    if iat - LEEWAY > now:
        raise GrantError("invalid_grant", "The assertion was issued in the future.")
    if exp - iat > MAX_ASSERTION_LIFETIME.total_seconds():
        raise GrantError("invalid_grant", "The assertion lives longer than one hour.")


def jwt_profile_grant(assertion: str, scope: str) -> dict[str, Any]:
    """The token response for a valid assertion; ``GrantError`` otherwise."""
    if not assertion:
        raise GrantError("invalid_request", "The assertion parameter is missing.")
    claims = _claims(assertion)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if config.issuer() not in audiences:
        raise GrantError("invalid_grant", "The assertion's audience must be the issuer.")
    _check_times(claims, time.time())
    token = crypto.new_token(40)
    expires: datetime = timezone.now() + ACCESS_TOKEN_LIFETIME
    if ZITADEL_API_AUDIENCE_SCOPE in scope.split():
        # As in Zitadel, only a token for the Zitadel project's audience may call its API;
        # without that scope the token is issued but the API refuses it.
        PersonalAccessToken.objects.create(
            user_id=claims["sub"],
            token_digest=crypto.digest("personal-access-token", token),
            expires_at=expires,
        )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()) - 1,
        "scope": " ".join(s for s in scope.split() if s),
    }
