"""Enrolment deadlines: who is forgiven what, and until when."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aidial_portal.mfa.compliance import COMPLIANT, Compliance, Reason
from aidial_portal.mfa.grace import enrolment_deadline, within_grace

SYDNEY = ZoneInfo("Australia/Sydney")
# 8 December 2026, 10:00 in Sydney (UTC+11).
FIRST_SEEN = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
NOT_ENROLLED = Compliance(False, Reason.NOT_ENROLLED)


def test_the_deadline_is_the_end_of_the_last_day_in_the_portals_time_zone():
    deadline = enrolment_deadline(FIRST_SEEN, 11, SYDNEY)
    assert deadline is not None
    assert deadline.last_day == date(2026, 12, 19)
    assert deadline.ends_at == datetime(2026, 12, 20, tzinfo=SYDNEY)
    assert deadline.days_left(date(2026, 12, 8)) == 11


def test_no_grace_without_days_or_without_a_first_sighting():
    assert enrolment_deadline(FIRST_SEEN, 0, SYDNEY) is None
    assert enrolment_deadline(None, 11, SYDNEY) is None


def test_a_person_not_enrolled_is_let_in_until_the_deadline():
    deadline = enrolment_deadline(FIRST_SEEN, 11, SYDNEY)
    assert within_grace(NOT_ENROLLED, deadline, datetime(2026, 12, 19, 12, 59, tzinfo=UTC))
    assert not within_grace(NOT_ENROLLED, deadline, datetime(2026, 12, 19, 13, 0, tzinfo=UTC))


def test_only_not_enrolled_is_forgiven():
    deadline = enrolment_deadline(FIRST_SEEN, 11, SYDNEY)
    now = datetime(2026, 12, 9, tzinfo=UTC)
    for reason in Reason:
        if reason is not Reason.NOT_ENROLLED:
            assert not within_grace(Compliance(False, reason), deadline, now)
    assert not within_grace(COMPLIANT, deadline, now)
    assert not within_grace(NOT_ENROLLED, None, now)
