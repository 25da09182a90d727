"""The sign-in's protocol details: scopes, audiences, grants and profile, refresh freshness."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from aidial_portal.config import PortalConfig
from aidial_portal.identity import oidc
from aidial_portal.identity.claims import Grant, Profile, grants_of
from aidial_portal.mfa.evidence import Evidence, Source

PROJECT = "312000000000000100"
CONFIG = PortalConfig(project_id=PROJECT, client_id="portal-client")
ROLES = "urn:zitadel:iam:org:project:roles"


def test_roles_are_asked_for_with_scopes_zitadel_honours_never_the_claim_name() -> None:
    asked = oidc.scopes(CONFIG).split()
    assert asked == [
        "openid",
        "profile",
        "email",
        "urn:zitadel:iam:org:projects:roles",
        f"urn:zitadel:iam:org:project:id:{PROJECT}:aud",
    ]
    assert ROLES not in asked


def test_the_project_id_is_a_trusted_audience() -> None:
    policy = oidc.token_policy(CONFIG)
    assert policy.client_id == "portal-client"
    assert PROJECT in policy.extra_audiences


def test_every_role_in_every_organisation_is_a_grant() -> None:
    claims = {
        ROLES: {
            "partner_admin": {"100": "partner.example"},
            "client_staff": {"200": "client.example", "100": "partner.example"},
        },
        f"urn:zitadel:iam:org:project:{PROJECT}:roles": {"client_staff": {"300": "c3.example"}},
    }
    assert grants_of(claims, PROJECT) == (
        Grant("client_staff", "100", "partner.example"),
        Grant("client_staff", "200", "client.example"),
        Grant("client_staff", "300", "c3.example"),
        Grant("partner_admin", "100", "partner.example"),
    )


@pytest.mark.parametrize(
    "roles",
    [[], "partner_admin", {"partner_admin": ["100"]}, {"": {"100": "x"}}, {"r": {"": "x"}}],
)
def test_malformed_role_claims_give_no_grant(roles: Any) -> None:
    assert grants_of({ROLES: roles}) == ()


def test_roles_and_profile_come_from_the_id_token_when_it_has_them() -> None:
    claims = {
        "sub": "1",
        "preferred_username": "pat@partner.example",
        ROLES: {"partner_admin": {"100": "partner.example"}},
    }
    userinfo = {"sub": "1", "name": "Not used", ROLES: {"aidial_admin": {"9": "x"}}}
    identity = oidc.identity_of(claims, userinfo, project_id=PROJECT)
    assert identity.grants == (Grant("partner_admin", "100", "partner.example"),)
    assert identity.profile == Profile(login_name="pat@partner.example")


def test_roles_and_profile_come_from_userinfo_with_zitadels_default_settings() -> None:
    claims = {"sub": "1"}
    userinfo = {
        "sub": "1",
        "preferred_username": "pat@partner.example",
        "email": "pat@partner.example",
        "name": "Pat Partner",
        ROLES: {"partner_admin": {"100": "partner.example"}},
    }
    identity = oidc.identity_of(claims, userinfo, project_id=PROJECT)
    assert identity.grants == (Grant("partner_admin", "100", "partner.example"),)
    assert identity.profile == Profile("pat@partner.example", "pat@partner.example", "Pat Partner")


def test_no_roles_claim_anywhere_is_logged_with_the_setting_to_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    identity = oidc.identity_of({"sub": "1"}, {"sub": "1"}, project_id=PROJECT)
    assert identity.grants == ()
    assert any("AIDIAL_ZITADEL_PROJECT_ID" in record.getMessage() for record in caplog.records)


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


def test_a_refresh_within_the_configured_clock_skew_is_fresh() -> None:
    # Zitadel subtracts the application's clock skew from auth_time.
    oidc._check_refresh({"sub": "1", "auth_time": 998}, pending(1000.5), skew=2)


def test_a_refresh_older_than_the_clock_skew_is_not_fresh() -> None:
    with pytest.raises(oidc.SignInRejected) as caught:
        oidc._check_refresh({"sub": "1", "auth_time": 997}, pending(1000.5), skew=2)
    assert caught.value.reason == "refresh_not_fresh"


def test_without_a_clock_skew_an_earlier_auth_time_is_not_fresh() -> None:
    with pytest.raises(oidc.SignInRejected):
        oidc._check_refresh({"sub": "1", "auth_time": 999}, pending(1000.5))


@pytest.mark.parametrize("raw", ["-1", "6", "two"])
def test_a_clock_skew_out_of_range_names_the_variable(raw: str) -> None:
    from aidial_portal.config import from_env

    with pytest.raises(ValueError, match="AIDIAL_OIDC_CLOCK_SKEW"):
        from_env({"AIDIAL_OIDC_CLOCK_SKEW": raw})


class FakeSession(dict[str, Any]):
    def __init__(self, session_key: str | None) -> None:
        super().__init__()
        self.session_key = session_key

    def save(self) -> None:
        self.session_key = "saved-key"


def test_the_kept_id_token_opens_only_with_its_session_key_and_the_secret() -> None:
    session = FakeSession("cookie-value-1")
    oidc.keep_id_token(session, "header.payload.signature", secret="s3cret")
    assert "header.payload.signature" not in repr(dict(session))
    assert oidc._kept_id_token(session, secret="s3cret") == "header.payload.signature"
    assert oidc._kept_id_token(session, secret="another") == ""
    session.session_key = "cookie-value-2"
    assert oidc._kept_id_token(session, secret="s3cret") == ""


def test_a_flushed_session_gets_its_key_before_the_token_is_sealed() -> None:
    session = FakeSession(None)
    oidc.keep_id_token(session, "header.payload.signature", secret="s3cret")
    assert session.session_key == "saved-key"
    assert oidc._kept_id_token(session, secret="s3cret") == "header.payload.signature"


@pytest.mark.parametrize(
    ("expected", "returned", "confirmed"),
    [("abc", "abc", True), ("abc", "abd", False), ("abc", None, False), (None, "abc", False)],
)
def test_the_sign_out_state_must_come_back_unchanged_and_only_once(
    expected: str | None, returned: str | None, confirmed: bool
) -> None:
    session: dict[str, Any] = {}
    if expected:
        oidc.remember_sign_out(session, expected)
    assert oidc.sign_out_confirmed(session, returned) is confirmed
    assert oidc.sign_out_confirmed(session, returned) is (None if not returned else False)


def test_a_plain_visit_to_the_signed_out_page_is_neither_confirmed_nor_refused() -> None:
    assert oidc.sign_out_confirmed({}, None) is None


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
    identity, evidence = oidc.read_at_callback(
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
            oidc.read_at_callback(
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
        oidc.read_at_callback(
            sign_in_without_roles(), config=CONFIG, directory=Directory(), reader=Reader()
        )
    assert caught.value.reason == "userinfo_subject_mismatch"
