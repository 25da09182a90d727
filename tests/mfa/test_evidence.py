from datetime import UTC, datetime, timedelta

import pytest

from aidial_portal.mfa.evidence import Evidence, Factor, Source, unavailable

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_recognised_factor_is_the_latest_verified():
    seen = Evidence(
        source=Source.SESSION,
        totp_enrolled=True,
        recovery_codes_present=True,
        verified={Factor.TOTP: NOW - timedelta(minutes=5), Factor.RECOVERY_CODE: NOW},
    )
    assert seen.recognised_factor is Factor.RECOVERY_CODE
    assert seen.verified_at == NOW
    assert seen.used_recovery_code


def test_no_factor_means_none():
    seen = Evidence(source=Source.AMR, totp_enrolled=False, recovery_codes_present=None)
    assert seen.recognised_factor is None
    assert seen.verified_at is None
    assert not seen.used_recovery_code
    assert not seen.reminders_supported


def test_round_trip_through_the_session():
    seen = Evidence(
        source=Source.SESSION,
        totp_enrolled=True,
        recovery_codes_present=False,
        verified={Factor.TOTP: NOW},
    )
    assert Evidence.from_dict(seen.to_dict()) == seen
    assert seen.reminders_supported


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {
            "source": "carrier-pigeon",
            "totp_enrolled": True,
            "recovery_codes_present": True,
            "verified": {},
        },
        {
            "source": "session",
            "totp_enrolled": "yes",
            "recovery_codes_present": True,
            "verified": {},
        },
        {
            "source": "session",
            "totp_enrolled": True,
            "recovery_codes_present": True,
            "verified": {"totp": "2026-11-28T12:00:00"},
        },
        {
            "source": "session",
            "totp_enrolled": True,
            "recovery_codes_present": True,
            "verified": {"sms": NOW.isoformat()},
        },
    ],
)
def test_malformed_session_evidence_reads_as_unavailable(broken):
    assert Evidence.from_dict(broken).unavailable == "malformed_session_evidence"


def test_unavailable_evidence_knows_nothing():
    seen = unavailable("provider_timeout")
    assert seen.totp_enrolled is None
    assert seen.recognised_factor is None
