"""Accepted factors and levels: which factor in this sign-in satisfies a role."""

from datetime import UTC, datetime, timedelta

import pytest

from aidial_portal.mfa.compliance import Reason, evaluate, is_enrolled, status_as_if_required
from aidial_portal.mfa.evidence import Evidence, Factor, Source
from aidial_portal.mfa.levels import (
    DEFAULT_ACCEPTED_FACTORS,
    Level,
    counted_factors,
    level_for,
    parse_factors,
    parse_levels,
)
from aidial_portal.mfa.policy import Requirement

NOW = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
WITH_PASSKEYS = DEFAULT_ACCEPTED_FACTORS | {Factor.PASSKEY}
WITH_KEYS = DEFAULT_ACCEPTED_FACTORS | {Factor.PASSKEY, Factor.SECURITY_KEY}


def evidence(*, totp=False, webauthn=(), verified=None):
    return Evidence(
        source=Source.SESSION,
        totp_enrolled=totp,
        recovery_codes_present=totp,
        verified=verified or {},
        webauthn_enrolled=frozenset(webauthn),
    )


def check(found, level=Level.MFA, accepted=WITH_KEYS):
    return evaluate(Requirement.REQUIRED, found, NOW, level=level, accepted=accepted)


def test_the_guides_factors_are_the_default():
    assert {Factor.TOTP, Factor.RECOVERY_CODE} == DEFAULT_ACCEPTED_FACTORS


def test_a_passkey_satisfies_mfa_only_when_accepted():
    signed_in = evidence(webauthn={Factor.PASSKEY}, verified={Factor.PASSKEY: NOW})
    assert check(signed_in, accepted=WITH_PASSKEYS).compliant
    refused = check(signed_in, accepted=DEFAULT_ACCEPTED_FACTORS)
    assert refused.reason is Reason.NOT_ENROLLED


def test_a_security_key_satisfies_mfa_only_when_accepted():
    signed_in = evidence(webauthn={Factor.SECURITY_KEY}, verified={Factor.SECURITY_KEY: NOW})
    assert check(signed_in).compliant
    assert not check(signed_in, accepted=WITH_PASSKEYS).compliant


def test_totp_alone_is_not_enough_for_the_phishing_resistant_level():
    signed_in = evidence(totp=True, webauthn={Factor.PASSKEY}, verified={Factor.TOTP: NOW})
    result = check(signed_in, level=Level.PHISHING_RESISTANT)
    assert (result.compliant, result.reason) == (False, Reason.PHISHING_RESISTANT_REQUIRED)
    assert check(signed_in, level=Level.MFA).compliant


def test_an_enrolled_person_without_a_passkey_is_told_the_level_not_to_enrol():
    signed_in = evidence(totp=True, verified={Factor.TOTP: NOW})
    assert check(signed_in, level=Level.PHISHING_RESISTANT).reason is (
        Reason.PHISHING_RESISTANT_REQUIRED
    )


def test_a_passkey_or_security_key_in_this_sign_in_meets_the_phishing_resistant_level():
    for factor in (Factor.PASSKEY, Factor.SECURITY_KEY):
        signed_in = evidence(totp=True, webauthn={factor}, verified={factor: NOW})
        assert check(signed_in, level=Level.PHISHING_RESISTANT).compliant


def test_a_stale_passkey_check_is_stale():
    old = NOW - timedelta(seconds=43_201)
    signed_in = evidence(webauthn={Factor.PASSKEY}, verified={Factor.PASSKEY: old})
    assert check(signed_in, level=Level.PHISHING_RESISTANT).reason is Reason.MFA_STALE


def test_someone_with_no_factor_at_all_is_not_enrolled_at_any_level():
    assert check(evidence(), level=Level.PHISHING_RESISTANT).reason is Reason.NOT_ENROLLED


def test_totp_counts_as_enrolment_only_when_accepted():
    assert is_enrolled(evidence(totp=True))
    assert not is_enrolled(evidence(totp=True), frozenset({Factor.PASSKEY}))
    assert not is_enrolled(evidence(webauthn={Factor.PASSKEY}))


def test_login_v1_otp_counts_only_when_totp_and_recovery_codes_are_both_accepted():
    assert Factor.OTP in counted_factors(Level.MFA, DEFAULT_ACCEPTED_FACTORS)
    assert Factor.OTP not in counted_factors(Level.MFA, frozenset({Factor.TOTP}))
    assert counted_factors(Level.PHISHING_RESISTANT, WITH_KEYS) == {
        Factor.PASSKEY,
        Factor.SECURITY_KEY,
    }


def test_the_report_status_follows_the_level():
    signed_in = evidence(totp=True, verified={Factor.TOTP: NOW})
    assert status_as_if_required(signed_in, NOW, max_age=60) == "compliant"
    strict = status_as_if_required(
        signed_in, NOW, max_age=60, level=Level.PHISHING_RESISTANT, accepted=WITH_KEYS
    )
    assert strict == "phishing_resistant_required"


def test_the_strictest_level_among_the_roles_wins():
    levels = parse_levels({"aidial_admin": "phishing_resistant", "partner_admin": "mfa"})
    assert level_for(["partner_admin", "aidial_admin"], levels) is Level.PHISHING_RESISTANT
    assert level_for(["partner_admin", "client_staff"], levels) is Level.MFA
    assert level_for([], levels) is Level.MFA


def test_unknown_names_are_refused_by_name():
    with pytest.raises(ValueError, match="'sms'"):
        parse_factors(["totp", "sms"])
    with pytest.raises(ValueError, match="'strong'"):
        parse_levels({"aidial_admin": "strong"})
    assert parse_factors(["passkey"]) == {Factor.PASSKEY}


def test_webauthn_enrolment_survives_the_session_and_old_sessions_read_as_none():
    kept = evidence(webauthn={Factor.PASSKEY}, verified={Factor.PASSKEY: NOW})
    assert Evidence.from_dict(kept.to_dict()) == kept
    old = kept.to_dict()
    del old["webauthn_enrolled"]
    assert Evidence.from_dict(old).webauthn_enrolled == frozenset()
