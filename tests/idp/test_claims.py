"""Scopes and claims as Zitadel issues them, with Zitadel's default application settings."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.idp.conftest import (
    POST_LOGOUT_URI,
    REDIRECT_URI,
    ROLES_CLAIM,
    RelyingParty,
)
from tests.support.idp import HostedLogin, IdpError, LocalIdp

PROFILE_CLAIMS = ("name", "preferred_username", "email", "email_verified")


def userinfo(idp: LocalIdp, access_token: str) -> dict[str, Any]:
    response = httpx.get(
        idp.url("/oidc/v1/userinfo"),
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    info: dict[str, Any] = response.json()
    return info


def role_scopes(*roles: str) -> str:
    return " ".join(["openid", *(f"urn:zitadel:iam:org:project:role:{r}" for r in roles)])


def test_by_default_the_id_token_carries_neither_roles_nor_profile_but_userinfo_does(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["partner_admin"], org="Bright Partners")

    signed_in = rp.sign_in(hosted_login, user["login"])

    for claim in (
        *PROFILE_CLAIMS,
        ROLES_CLAIM,
        f"urn:zitadel:iam:org:project:{rp.project_id}:roles",
    ):
        assert claim not in signed_in.claims
    info = userinfo(local_idp, signed_in.tokens["access_token"])
    assert info["sub"] == user["user_id"]
    assert info["email"] == user["login"]
    assert info["email_verified"] is True
    assert info["preferred_username"] == user["login"]
    assert info["name"]
    expected = {"partner_admin": {user["org_id"]: "bright-partners.demo.aidial.test"}}
    assert info[ROLES_CLAIM] == expected
    assert info[f"urn:zitadel:iam:org:project:{rp.project_id}:roles"] == expected


def test_the_roles_claim_name_asked_for_as_a_scope_is_dropped_and_gives_no_roles(
    local_idp: LocalIdp, asserting_rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["client_admin"])

    signed_in = asserting_rp.sign_in(
        hosted_login, user["login"], scope=f"openid profile email {ROLES_CLAIM}"
    )

    assert ROLES_CLAIM not in signed_in.tokens["scope"].split()
    assert ROLES_CLAIM not in signed_in.claims
    assert ROLES_CLAIM not in userinfo(local_idp, signed_in.tokens["access_token"])
    assert signed_in.claims["email"] == user["login"]  # the known scopes still count


def test_unknown_scopes_are_dropped_silently(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    signed_in = rp.sign_in(
        hosted_login, password_user["login"], scope="openid email made:up:scope offline_accez"
    )

    assert signed_in.tokens["scope"].split() == ["openid", "email"]


def test_the_projects_roles_scope_without_the_project_audience_gives_no_roles(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["client_admin"])

    signed_in = rp.sign_in(
        hosted_login, user["login"], scope="openid urn:zitadel:iam:org:projects:roles"
    )

    assert ROLES_CLAIM not in userinfo(local_idp, signed_in.tokens["access_token"])


def test_a_role_scope_asserts_only_that_role(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["client_admin", "client_staff"])

    signed_in = rp.sign_in(hosted_login, user["login"], scope=role_scopes("client_staff"))

    info = userinfo(local_idp, signed_in.tokens["access_token"])
    assert list(info[ROLES_CLAIM]) == ["client_staff"]


def test_grants_in_two_organisations_keep_every_role_and_organisation(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    partner = local_idp.add_org("Partner Org P")
    client = local_idp.add_org("Client Org C")
    user = make_user(
        ["partner_admin"],
        org="Partner Org P",
        grants=[("Client Org C", "client_staff"), (partner["org_id"], "client_staff")],
    )

    signed_in = rp.sign_in(hosted_login, user["login"])

    roles = userinfo(local_idp, signed_in.tokens["access_token"])[ROLES_CLAIM]
    assert roles == {
        "partner_admin": {partner["org_id"]: partner["primary_domain"]},
        "client_staff": {
            client["org_id"]: client["primary_domain"],
            partner["org_id"]: partner["primary_domain"],
        },
    }
    assert len(partner["org_id"]) == 18
    assert partner["org_id"].isdigit()


def test_a_grant_in_an_organisation_that_does_not_exist_is_refused(
    local_idp: LocalIdp,
) -> None:
    with pytest.raises(IdpError, match="add-org"):
        local_idp.add_user(
            "orphan@example.test", "pw-123456789", [], grants=[("No Such Org", "client_staff")]
        )


def test_the_projects_role_assertion_puts_roles_in_userinfo_without_a_role_scope(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["client_manager"])
    local_idp.set_project_role_assertion(True)
    try:
        signed_in = rp.sign_in(hosted_login, user["login"], scope="openid")
        info = userinfo(local_idp, signed_in.tokens["access_token"])
    finally:
        local_idp.set_project_role_assertion(False)

    assert list(info[ROLES_CLAIM]) == ["client_manager"]
    assert ROLES_CLAIM not in signed_in.claims  # the ID token still needs the app setting


def test_the_applications_assertion_settings_put_roles_and_profile_in_the_id_token(
    asserting_rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["client_admin"])

    signed_in = asserting_rp.sign_in(hosted_login, user["login"])

    claims = signed_in.claims
    assert claims["email"] == user["login"]
    assert claims["preferred_username"] == user["login"]
    assert claims["name"]
    assert list(claims[ROLES_CLAIM]) == ["client_admin"]
    assert claims[f"urn:zitadel:iam:org:project:{asserting_rp.project_id}:roles"]


def test_aud_holds_every_client_of_the_project_and_the_project_id(
    rp: RelyingParty, public_rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    signed_in = rp.sign_in(hosted_login, password_user["login"])

    aud = signed_in.claims["aud"]
    assert {rp.client_id, public_rp.client_id, rp.project_id} <= set(aud)
    assert aud[-1] == rp.project_id
    assert signed_in.claims["client_id"] == rp.client_id
    assert len(rp.project_id) == 18
    assert rp.project_id.isdigit()


def test_project_id_command_names_the_clients_project(
    local_idp: LocalIdp, rp: RelyingParty
) -> None:
    assert local_idp.project_id() == rp.project_id


def test_auth_time_has_the_applications_clock_skew_subtracted(
    local_idp: LocalIdp, make_user, hosted_login: HostedLogin, api: httpx.Client
) -> None:
    client = local_idp.add_client(REDIRECT_URI, post_logout_uri=POST_LOGOUT_URI, clock_skew=5)
    skewed = RelyingParty(
        local_idp, client["client_id"], client["client_secret"], client["project_id"]
    )
    user = make_user(["client_staff"])

    signed_in = skewed.sign_in(hosted_login, user["login"])

    session = api.get(f"/v2/sessions/{signed_in.claims['sid']}").json()["session"]
    checked = datetime.fromisoformat(session["factors"]["password"]["verifiedAt"])
    assert signed_in.claims["auth_time"] == int(checked.timestamp()) - 5
    assert signed_in.claims["iat"] <= int(time.time()) - 5


def test_a_clock_skew_beyond_zitadels_limit_is_refused(local_idp: LocalIdp) -> None:
    with pytest.raises(IdpError, match="0 to 5 seconds"):
        local_idp.add_client(REDIRECT_URI, clock_skew=6)
