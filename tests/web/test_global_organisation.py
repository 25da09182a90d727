"""`AIDIAL_GLOBAL_ORGANISATION_ID`: AiDial's own roles (`aidial_admin`, `aidial_operator`) count
only when granted in AiDial's organisation; any organisation may create a role of that name."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from aidial_portal import config
from aidial_portal.accounts import session_state
from aidial_portal.accounts import sign_in as flow
from aidial_portal.identity.claims import Grant, Profile
from aidial_portal.identity.oidc import Identity, Pending, SignIn
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db
AIDIAL_ORG = "100000000000000001"


def sign_in_with(monkeypatch: pytest.MonkeyPatch, *grants: Grant) -> Client:
    now = int(time.time())
    answer = SignIn(
        claims={"sub": "user-1", "sid": "sid-1", "auth_time": now},
        pending=Pending("s", "n", "v", "/", time.time(), "sign_in"),
        id_token="header.payload.signature",
    )
    identity = Identity("user-1", Profile("pat@example.test"), grants)
    monkeypatch.setattr(flow.oidc, "complete", lambda *a, **k: answer)
    monkeypatch.setattr(flow, "read_identity_and_evidence", lambda _: (identity, evidence()))
    browser = Client()
    assert browser.get("/oidc/callback/?code=c&state=s").status_code == 302
    return browser


def roles_of(browser: Client) -> tuple[str, ...]:
    state = session_state.load(browser.session)
    assert state is not None
    return state.roles


def test_an_aidial_role_from_another_organisation_is_ignored(
    monkeypatch: pytest.MonkeyPatch, portal_config: Any
) -> None:
    portal_config(global_org_id=AIDIAL_ORG)
    browser = sign_in_with(
        monkeypatch, Grant("aidial_admin", "200000000000000002"), Grant("client_staff", "2")
    )

    assert roles_of(browser) == ("client_staff",)
    assert browser.get("/admin/records/").status_code == 403


def test_an_aidial_role_from_the_global_organisation_counts(
    monkeypatch: pytest.MonkeyPatch, portal_config: Any
) -> None:
    portal_config(global_org_id=AIDIAL_ORG)
    browser = sign_in_with(monkeypatch, Grant("aidial_operator", AIDIAL_ORG))
    assert roles_of(browser) == ("aidial_operator",)


def test_the_setting_is_read_and_checked() -> None:
    env = {"AIDIAL_GLOBAL_ORGANISATION_ID": f" {AIDIAL_ORG} "}
    assert config.from_env(env).global_org_id == AIDIAL_ORG
    with pytest.raises(config.ConfigError, match="AIDIAL_GLOBAL_ORGANISATION_ID"):
        config.from_env({"AIDIAL_GLOBAL_ORGANISATION_ID": "acme org"})
