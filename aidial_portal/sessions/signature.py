"""The `ZITADEL-Signature` header of an Actions v2 delivery, verified as Zitadel's own verifier
does (`pkg/actions/signing.go` in zitadel/zitadel).

The header is `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`: one `v1` per signing key of the
target, each an HMAC-SHA256 keyed with that signing key over `<t>.<body>`. Zitadel accepts any
matching `v1` (compared with `hmac.Equal`) whose `t` is at most 300 s old; this verifier also
refuses a `t` more than 300 s ahead, so a captured delivery cannot be held back for later.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "ZITADEL-Signature"
TOLERANCE = 300  # seconds: Zitadel's DefaultTolerance


class SignatureRefused(Exception):
    """Why a delivery is not believed: a stable tag for logs and the answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(body: bytes, key: str, *, timestamp: int) -> str:
    """The header Zitadel sends for `body` (`ComputeSignatureHeader`), for one key."""
    return f"t={timestamp},v1={_mac(body, key, timestamp).hex()}"


def verify(header: str, body: bytes, key: str, *, now: float, tolerance: int = TOLERANCE) -> int:
    """The header's timestamp when one `v1` is `body`'s HMAC under `key` and the timestamp is
    within `tolerance` of `now`; raises `SignatureRefused` otherwise."""
    if not key:
        raise SignatureRefused("not_configured")
    timestamp, signatures = _parse(header)
    expected = _mac(body, key, timestamp)
    # Every candidate is compared, each in constant time, before anything is decided.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureRefused("bad_signature")
    if now - timestamp > tolerance:
        raise SignatureRefused("stale")
    if timestamp - now > tolerance:
        raise SignatureRefused("issued_in_future")
    return timestamp


def _parse(header: str) -> tuple[int, list[bytes]]:
    if not header:
        raise SignatureRefused("missing_signature")
    timestamp: int | None = None
    signatures: list[bytes] = []
    for pair in header.split(","):
        name, equals, value = pair.strip().partition("=")
        if not equals or "=" in value:
            raise SignatureRefused("malformed_signature")
        if name == "t":
            if not value.isascii() or not value.isdigit() or len(value) > 12:
                raise SignatureRefused("malformed_signature")
            timestamp = int(value)
        elif name == "v1":
            try:
                signatures.append(bytes.fromhex(value))
            except ValueError:
                continue  # as Zitadel: an undecodable v1 is skipped, not fatal
    if timestamp is None or not signatures:
        raise SignatureRefused("malformed_signature")
    return timestamp, signatures


def _mac(body: bytes, key: str, timestamp: int) -> bytes:
    return hmac.new(key.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).digest()
