"""Generating and recognising the provider's own secrets.

High-entropy secrets (client secrets, recovery codes, tokens) are stored as HMAC-SHA256 digests
keyed with the provider's secret key: fast to look up, useless if the database leaks alone.
Passwords go through Django's hashers instead (see ``settings.PASSWORD_HASHERS``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets

from django.conf import settings

RECOVERY_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RECOVERY_CODE_COUNT = 10


def digest(purpose: str, value: str) -> str:
    key = hashlib.sha256(f"local_idp:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def digest_matches(purpose: str, value: str, expected: str) -> bool:
    return hmac.compare_digest(digest(purpose, value), expected)


def new_token(nbytes: int = 32) -> str:
    return _secrets.token_urlsafe(nbytes)


def new_recovery_code() -> str:
    """``XXXXX-XXXXX``: ten alphanumerics with a hyphen, as Zitadel's defaults."""
    chars = "".join(_secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def normalise_recovery_code(code: str) -> str:
    """Codes compare case-insensitively and without the hyphen or spaces."""
    return "".join(ch for ch in code.upper() if ch.isalnum())
