"""Two identical POSTs at the same moment leave one result and one security event."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from aidial_portal.accounts.models import Account
from aidial_portal.audit.models import SecurityEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_acknowledgements_leave_one_event(client, sign_in_as):
    sign_in_as(
        ["partner_admin"], ack_pending="enrolment", ever_enrolled=True, enrolled_observed=True
    )
    cookies = client.cookies
    start = threading.Barrier(2, timeout=10)
    statuses: list[int] = []

    def acknowledge() -> None:
        browser = Client()
        browser.cookies = cookies
        start.wait()
        try:
            statuses.append(browser.post("/settings/recovery-codes/acknowledge/").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=acknowledge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [302, 302]
    assert SecurityEvent.objects.filter(event_type="recovery_codes_acknowledged").count() == 1
    assert Account.objects.get().ack_pending == ""
