"""The dashboard's cost: its navigation is decided from the session, not another query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aidial_portal.mfa.evidence import Factor
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db


def _account_queries(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries if '"accounts_account"' in query["sql"]]


def test_dashboard_reads_the_signed_in_account_once(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(enrolled=True, factor=Factor.TOTP))
    client.get("/")  # the session store's first read is not the page's own cost
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    assert b"Sign out" in response.content
    assert b'aria-current="page">Dashboard' in response.content
    assert len(_account_queries(queries)) == 1


def test_signed_out_public_page_shows_no_signed_in_navigation(client):
    response = client.get("/help/")
    assert response.status_code == 200
    assert b"Sign out" not in response.content
    assert b'href="/settings/"' not in response.content
