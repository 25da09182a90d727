"""Passkeys as a level: the issue's "done when" over real HTTP against the local provider."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aidial_portal.accounts import session_state
from aidial_portal.accounts.models import Account
from aidial_portal.mfa.evidence import Factor
from aidial_portal.mfa.levels import Level

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.idp]

PASSKEYS = frozenset({Factor.TOTP, Factor.RECOVERY_CODE, Factor.PASSKEY})


@pytest.fixture
def passkey_level(settings, wired):
    settings.AIDIAL = replace(
        settings.AIDIAL,
        accepted_factors=PASSKEYS,
        role_levels={"aidial_admin": Level.PHISHING_RESISTANT},
    )


def test_aidial_admin_signed_in_with_totp_is_sent_to_settings_when_a_passkey_is_required(
    client, passkey_level, local_idp, sign_in
):
    who = local_idp.new_person("aidial_admin", totp=True, passkey=True, domain="flows.test")
    sign_in(who, code=local_idp.totp_code(who.totp_secret))
    page = client.get("/")
    assert page.status_code == 302
    assert page["Location"] == "/settings/?next=%2F"
    settings_page = client.get(page["Location"]).content.decode()
    assert "requires a passkey or security key in this sign-in" in settings_page
    assert "Level required: Phishing-resistant MFA (passkey or security key)." in settings_page
    assert "An authenticator app alone is not enough." in settings_page
    action = client.post("/actions/confirm-session/")
    assert action.status_code == 403
    assert action.json()["reason"] == "phishing_resistant_required"
    account = Account.objects.get(login_name=who.login)
    assert account.last_status == "phishing_resistant_required"


def test_aidial_admin_signed_in_with_a_passkey_is_let_in(client, passkey_level, local_idp, sign_in):
    who = local_idp.new_person("aidial_admin", passkey=True, domain="flows.test")
    sign_in(who, webauthn="passkey")
    assert client.get("/").status_code == 200
    state = session_state.load(client.session)
    assert state.evidence.recognised_factor is Factor.PASSKEY
    assert Factor.PASSKEY in state.evidence.webauthn_enrolled
    account = Account.objects.get(login_name=who.login)
    assert account.last_status == "compliant"
    assert account.last_factor == "passkey"


def test_a_security_key_counts_only_when_accepted(client, passkey_level, local_idp, sign_in):
    # Only `passkey` is accepted: a U2F check (user presence only) is not a passkey.
    who = local_idp.new_person("aidial_admin", security_key=True, domain="flows.test")
    sign_in(who, webauthn="security_key")
    assert client.get("/")["Location"] == "/settings/?next=%2F"
    assert Account.objects.get(login_name=who.login).last_status == "not_enrolled"


def test_with_the_guides_settings_a_passkey_sign_in_does_not_count(client, local_idp, sign_in):
    who = local_idp.new_person("partner_admin", passkey=True, domain="flows.test")
    sign_in(who, webauthn="passkey")
    assert client.get("/")["Location"] == "/settings/?next=%2F"
    state = session_state.load(client.session)
    assert state.evidence.verified == {}
    assert "has no authenticator app enrolled yet" in client.get("/settings/").content.decode()
