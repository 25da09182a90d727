"""Passkeys and security keys in Zitadel's session state (`webAuthN`, session.proto
`WebAuthNFactor {verified_at, user_verified}`), read over real HTTP from a canned server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aidial_portal.identity.zitadel import ZitadelEvidenceReader
from aidial_portal.mfa.evidence import Factor

from .fake_zitadel import (
    SERVICE_TOKEN,
    SESSION_ID,
    USER_ID,
    VERIFIED_AT,
    FakeZitadel,
    Reply,
    methods,
    session,
)
from .test_zitadel import CHECKED, METHODS_PATH, SESSION_PATH

WEBAUTHN = frozenset({Factor.TOTP, Factor.RECOVERY_CODE, Factor.PASSKEY, Factor.SECURITY_KEY})


@pytest.fixture
def zitadel() -> Iterator[FakeZitadel]:
    server = FakeZitadel()
    yield server
    server.close()


def read(zitadel: FakeZitadel, factors: dict[str, Any], *types: str, accepted=WEBAUTHN):
    zitadel.reply(SESSION_PATH, Reply(body=session(**factors)))
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", *types)))
    reader = ZitadelEvidenceReader(zitadel.url, SERVICE_TOKEN, accepted=accepted)
    return reader.read(sid=SESSION_ID, sub=USER_ID, amr=["user", "mfa"])


def test_a_user_verified_webauthn_check_is_a_passkey(zitadel: FakeZitadel) -> None:
    factors = {"webAuthN": {"verifiedAt": VERIFIED_AT, "userVerified": True}}
    evidence = read(zitadel, factors, "PASSKEY")
    assert evidence.verified == {Factor.PASSKEY: CHECKED}
    assert evidence.webauthn_enrolled == {Factor.PASSKEY}
    assert evidence.totp_enrolled is False


@pytest.mark.parametrize("details", [{"userVerified": False}, {}])
def test_a_webauthn_check_without_user_verification_is_a_security_key(
    zitadel: FakeZitadel, details: dict[str, Any]
) -> None:
    # Protobuf JSON leaves a false `userVerified` out.
    factors = {"webAuthN": {"verifiedAt": VERIFIED_AT, **details}}
    evidence = read(zitadel, factors, "U2F")
    assert evidence.verified == {Factor.SECURITY_KEY: CHECKED}
    assert evidence.webauthn_enrolled == {Factor.SECURITY_KEY}


def test_a_webauthn_check_that_is_not_accepted_is_not_recognised(zitadel: FakeZitadel) -> None:
    factors = {"webAuthN": {"verifiedAt": VERIFIED_AT, "userVerified": False}}
    accepted = frozenset({Factor.TOTP, Factor.PASSKEY})
    evidence = read(zitadel, factors, "U2F", "PASSKEY", accepted=accepted)
    assert evidence.verified == {}
    assert evidence.unavailable is None


def test_a_recovery_code_that_is_not_accepted_is_not_recognised(zitadel: FakeZitadel) -> None:
    factors = {"recoveryCode": {"verifiedAt": VERIFIED_AT}}
    evidence = read(zitadel, factors, "TOTP", accepted=frozenset({Factor.TOTP}))
    assert evidence.verified == {}


@pytest.mark.parametrize(
    "details", [{"verifiedAt": VERIFIED_AT, "userVerified": "yes"}, {"userVerified": True}]
)
def test_a_malformed_webauthn_factor_is_unavailable(
    zitadel: FakeZitadel, details: dict[str, Any]
) -> None:
    evidence = read(zitadel, {"webAuthN": details}, "PASSKEY")
    assert evidence.unavailable == "provider_malformed"
    assert evidence.verified == {}
