"""The compliance report's rollout columns: each account's level and enrolment deadline."""

import pytest

from aidial_portal.mfa.evidence import Factor
from aidial_portal.mfa.levels import Level

pytestmark = pytest.mark.django_db

WITH_KEYS = frozenset({Factor.TOTP, Factor.RECOVERY_CODE, Factor.PASSKEY, Factor.SECURITY_KEY})


def test_the_report_shows_each_accounts_level_when_levels_are_set(
    client, sign_in_as, make_account, portal_config
):
    portal_config(
        accepted_factors=WITH_KEYS, role_levels={"aidial_admin": Level.PHISHING_RESISTANT}
    )
    make_account(sub="partner", roles=["partner_admin"], last_status="compliant")
    sign_in_as(["aidial_operator"], sub="viewer")
    make_account(sub="admin", roles=["aidial_admin"], last_status="phishing_resistant_required")
    page = client.get("/admin/compliance/").content.decode()
    assert '<th scope="col">Level</th>' in page
    assert '<td data-label="Level">Phishing-resistant MFA (passkey or security key)</td>' in page
    assert '<td data-label="Level">Multi-factor authentication</td>' in page
    assert "Enrolled, but signed in without MFA" in page


def test_with_the_guides_settings_the_report_has_no_level_column(client, sign_in_as):
    sign_in_as(["aidial_operator"], sub="viewer")
    page = client.get("/admin/compliance/").content.decode()
    assert '<th scope="col">Level</th>' not in page
