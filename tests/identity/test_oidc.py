"""The sign-in's protocol details: scopes, audiences, grants and profile, refresh freshness."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from aidial_portal.config import PortalConfig
from aidial_portal.identity import oidc
from aidial_portal.identity.claims import Grant, Profile, grants_of

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
