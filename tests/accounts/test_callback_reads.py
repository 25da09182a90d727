"""The callback's provider reads: userinfo beside the MFA evidence, within one budget."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aidial_portal.accounts.callback_reads import read_at_callback
from aidial_portal.config import PortalConfig
from aidial_portal.identity import oidc
from aidial_portal.identity.claims import Grant
from aidial_portal.mfa.evidence import Evidence, Source

PROJECT = "312000000000000100"
CONFIG = PortalConfig(project_id=PROJECT, client_id="portal-client")
ROLES = "urn:zitadel:iam:org:project:roles"


def pending(started_at: float) -> oidc.Pending:
    return oidc.Pending(
        state="s",
        nonce="n",
        code_verifier="v",
        next_path="/",
        started_at=started_at,
        kind="refresh",
        expected_sub="1",
    )


class Directory:
    def metadata(self) -> dict[str, Any]:
        return {"userinfo_endpoint": "https://id.example.test/oidc/v1/userinfo"}


def sign_in_without_roles() -> oidc.SignIn:
    return oidc.SignIn(
        claims={"sub": "1", "sid": "7", "amr": ["pwd", "otp", "mfa"], "auth_time": 1000},
        pending=pending(999),
        id_token="header.payload.signature",
        access_token="access",
    )


class Reader:
    def __init__(self, before: Any = None) -> None:
        self.before = before

    def read(self, **_: Any) -> Evidence:
        if self.before is not None:
            self.before()
        return Evidence(Source.SESSION, totp_enrolled=True, recovery_codes_present=True)


def test_userinfo_is_read_beside_the_evidence_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = threading.Event()

    def userinfo(endpoint: str, token: str, deadline: float) -> dict[str, Any]:
        asked.set()
        return {"sub": "1", ROLES: {"partner_admin": {"100": "p.example"}}}

    monkeypatch.setattr(oidc, "fetch_userinfo", userinfo)
    # The evidence read waits for userinfo to have been asked: read one after the other,
    # this would never finish.
    reader = Reader(before=lambda: asked.wait(5) or pytest.fail("userinfo was not concurrent"))
    identity, evidence = read_at_callback(
        sign_in_without_roles(), config=CONFIG, directory=Directory(), reader=reader
    )
    assert identity.grants == (Grant("partner_admin", "100", "p.example"),)
    assert evidence.unavailable is None


def test_userinfo_slower_than_the_budget_refuses_the_sign_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()

    def userinfo(endpoint: str, token: str, deadline: float) -> dict[str, Any]:
        release.wait(5)
        return {"sub": "1"}

    monkeypatch.setattr(oidc, "fetch_userinfo", userinfo)
    try:
        with pytest.raises(oidc.ProviderDown):
            read_at_callback(
                sign_in_without_roles(),
                config=CONFIG,
                directory=Directory(),
                reader=Reader(),
                budget=0.05,
            )
    finally:
        release.set()


def test_userinfo_about_someone_else_refuses_the_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oidc, "fetch_userinfo", lambda *_: {"sub": "2", ROLES: {}})
    with pytest.raises(oidc.SignInRejected) as caught:
        read_at_callback(
            sign_in_without_roles(), config=CONFIG, directory=Directory(), reader=Reader()
        )
    assert caught.value.reason == "userinfo_subject_mismatch"
