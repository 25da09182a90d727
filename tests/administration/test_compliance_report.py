"""The MFA compliance report: who sees what, statuses, filters, pages and the CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aidial_portal.accounts.models import Account, ComplianceSnapshot, Organisation
from aidial_portal.administration import views
from aidial_portal.administration.compliance import STATUS_FILTERS, ReportStatus, status_of
from aidial_portal.administration.report_rows import COLUMNS
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.audit.recording import record
from aidial_portal.identity.claims import Grant
from aidial_portal.mfa.policy import ROLE_REQUIREMENTS
from aidial_portal.web.local_time import local_time
from tests.administration.conftest import ACME, GLOBEX, INITECH
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db

ALL_ROLES = sorted(ROLE_REQUIREMENTS)
GLOBAL = {"aidial_admin", "aidial_operator"}
ORGANISATION = {"partner_admin", "client_admin"}


def names(response):
    return sorted(row.account.subject for row in response.context["rows"])


@pytest.mark.parametrize("role", ALL_ROLES)
def test_report_is_scoped_by_role(client, sign_in_as, population, role):
    sign_in_as([role], sub="viewer", org_id=ACME)
    response = client.get("/admin/compliance/")
    if role in GLOBAL:
        assert response.status_code == 200
        assert len(response.context["rows"]) == len(population) + 1  # and the viewer
    elif role in ORGANISATION:
        assert response.status_code == 200
        assert names(response) == ["acme-new", "acme-ok", "acme-skip", "viewer"]
    else:
        assert response.status_code == 403
        assert b"acme-ok" not in response.content


@pytest.mark.parametrize("role", ALL_ROLES)
def test_export_is_scoped_by_role(client, sign_in_as, population, role):
    sign_in_as([role], sub="viewer", org_id=GLOBEX)
    response = client.get("/admin/compliance/export.csv")
    if role not in GLOBAL | ORGANISATION:
        assert response.status_code == 403
        return
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    accounts = {row["Account"] for row in rows}
    if role in GLOBAL:
        assert "acme-ok@example.test" in accounts
    else:
        assert accounts == {
            "globex-unknown@example.test",
            "globex-reminded@example.test",
            "globex-pending@example.test",
            "viewer@example.test",
        }


def test_organisation_administrator_without_an_organisation_sees_nothing(
    client, sign_in_as, population
):
    sign_in_as(["partner_admin"], sub="viewer", org_id="")
    assert client.get("/admin/compliance/").status_code == 403
    assert client.get("/admin/events/").status_code == 403


def test_organisation_filter_cannot_widen_an_organisation_scope(client, sign_in_as, population):
    sign_in_as(["client_admin"], sub="viewer", org_id=ACME)
    response = client.get("/admin/compliance/", {"organisation": GLOBEX})
    assert "globex-unknown" not in names(response)
    assert "organisation" not in response.context["form"].fields


def test_non_compliant_administrator_is_stopped_by_the_gate(client, sign_in_as, population):
    sign_in_as(["aidial_admin"], evidence(enrolled=False, factor=None), sub="viewer")
    assert client.get("/admin/compliance/")["Location"].startswith("/settings/")
    assert client.get("/admin/compliance/export.csv")["Location"].startswith("/settings/")


def test_signed_out_visitor_is_sent_to_sign_in(client):
    assert client.get("/admin/compliance/")["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ALL_ROLES)
def test_navigation_offers_the_reports_to_administrators_only(client, sign_in_as, role):
    sign_in_as([role], org_id=ACME)
    page = client.get("/").content
    offered = role in GLOBAL | ORGANISATION
    assert (b'<a href="/admin/compliance/">MFA compliance</a>' in page) is offered
    assert (b'<a href="/admin/events/">Security events</a>' in page) is offered


def test_status_precedence_per_account(population):
    for expected, account in population.items():
        assert status_of(account) is expected


def test_status_filters_agree_with_the_row_status(population):
    for status, condition in STATUS_FILTERS.items():
        matched = list(Account.objects.filter(condition))
        assert {status_of(a) for a in matched} <= {status}
        assert population[status] in matched


def test_a_person_who_never_signed_in_is_never_signed_in_and_not_compliant(make_account):
    account = make_account(sub="never")
    assert status_of(account) is ReportStatus.NEVER_SIGNED_IN
    assert account not in Account.objects.filter(STATUS_FILTERS[ReportStatus.COMPLIANT])


def test_page_shows_the_columns_and_explains_itself(client, sign_in_as, population):
    sign_in_as(["aidial_admin"], sub="viewer")
    body = client.get("/admin/compliance/", {"status": "reminder_active"}).content.decode()
    assert "A row is a person in an organisation" in body
    assert "How the status is decided" in body
    assert "<caption>People in organisations" in body
    for column in COLUMNS:
        assert f'<th scope="col">{column.title}</th>' in body
    assert '<label for="id_status">Status</label>' in body
    row = body.split('data-label="Account">globex-reminded@example.test</th>')[1].split("</tr>")[0]
    for cell in (
        "Globex Partners",
        "Client Administrator",
        "Optional",
        "Authenticator app enrolled; recovery codes available (seen at sign-in,",
        "recovery code",
        "Recovery-code reminder active",
    ):
        assert cell in row


def test_never_signed_in_and_deactivated_people_are_listed_with_what_sync_saw(
    client, sign_in_as, population
):
    sign_in_as(["aidial_admin"], sub="viewer")
    record(EventTag.Directory.SYNCED, details={"people": 2})
    body = client.get("/admin/compliance/", {"organisation": INITECH}).content.decode()
    new = body.split('data-label="Account">initech-new@example.test</th>')[1].split("</tr>")[0]
    assert "Never signed in" in new
    assert "No authenticator app; no recovery codes (seen at directory sync," in new
    assert "Partner Administrator" in new
    assert "Required" in new
    locked = body.split('data-label="Account">initech-locked@example.test</th>')[1]
    assert "Deactivated or locked in Zitadel" in locked.split("</tr>")[0]


def test_counts_per_status_and_the_mandatory_share_are_above_the_table(
    client, sign_in_as, population
):
    sign_in_as(["aidial_admin"], sub="viewer", org_id="org-aidial", last_sign_in_at=timezone.now())
    response = client.get("/admin/compliance/")
    counts = response.context["counts"]
    by_status = dict(counts.by_status)
    assert by_status[ReportStatus.NEVER_SIGNED_IN] == 1
    assert by_status[ReportStatus.INACTIVE] == 1
    assert sum(by_status.values()) == counts.total == len(population) + 1
    # Partner administrators require MFA: acme-ok (compliant) and initech-new (never signed
    # in, so not compliant).
    assert (counts.mandatory_compliant, counts.mandatory) == (1, 2)
    body = response.content.decode()
    assert "<strong>1 of 2</strong> people whose roles require MFA are compliant" in body
    assert body.index("At a glance") < body.index("<table>\n  <caption>People")


def test_the_trend_is_drawn_from_daily_snapshots_with_its_numbers_in_text(
    client, sign_in_as, population
):
    today = timezone.localdate()
    for days_ago, compliant in ((30, 1), (0, 3)):
        day = today - timedelta(days=days_ago)
        ComplianceSnapshot.objects.create(day=day, org_id=ACME, mandatory=4, compliant=compliant)
        ComplianceSnapshot.objects.create(day=day, org_id=GLOBEX, mandatory=1, compliant=1)
    ComplianceSnapshot.objects.create(
        day=today - timedelta(days=120), org_id=ACME, mandatory=4, compliant=0
    )
    sign_in_as(["client_admin"], sub="viewer", org_id=ACME)

    response = client.get("/admin/compliance/")

    days = response.context["trend"].days
    assert [(d.compliant, d.mandatory, d.percent) for d in days] == [(1, 4, 25), (3, 4, 75)]
    body = response.content.decode()
    assert '<svg class="trend"' in body
    assert "<polyline points=" in body
    assert "25% on" in body
    assert "75% on" in body
    assert "<script" not in body.split("At a glance")[1].split("</section>")[0]


def test_filters_by_organisation_role_and_status(client, sign_in_as, population):
    sign_in_as(["aidial_operator"], sub="viewer", org_id="org-aidial")
    first = client.get("/admin/compliance/")
    choices = dict(first.context["form"].fields["organisation"].choices)
    assert choices[GLOBEX] == "Globex Partners"
    by_org = client.get("/admin/compliance/", {"organisation": GLOBEX})
    assert names(by_org) == ["globex-pending", "globex-reminded", "globex-unknown"]
    by_domain = client.get("/admin/compliance/", {"organisation": "acme.example"})
    assert names(by_domain) == ["acme-new", "acme-ok", "acme-skip"]
    by_role = client.get("/admin/compliance/", {"role": "client_staff"})
    assert names(by_role) == ["acme-new", "globex-pending", "initech-locked"]
    by_role_admin = client.get("/admin/compliance/", {"role": "client_admin"})
    assert names(by_role_admin) == ["globex-reminded"]
    by_status = client.get("/admin/compliance/", {"status": "signed_in_without_mfa"})
    assert names(by_status) == ["acme-skip"]
    bogus = client.get("/admin/compliance/", {"status": "nonsense", "sort": "nonsense"})
    assert bogus.status_code == 200


def test_a_person_in_two_organisations_shows_each_organisations_roles_to_its_admin(
    client, sign_in_as, make_account
):
    Organisation.objects.create(org_id="org-bright", name="Bright Partners")
    Organisation.objects.create(org_id="org-acme", name="Acme Clinics")
    make_account(
        sub="two",
        grants=[Grant("client_staff", "org-acme", ""), Grant("partner_admin", "org-bright", "")],
        last_sign_in_at=timezone.now(),
        last_status="compliant",
    )
    sign_in_as(["partner_admin"], sub="viewer", org_id="org-bright")

    rows = client.get("/admin/compliance/").context["rows"]
    export = client.get("/admin/compliance/export.csv")

    two = [row for row in rows if row.account.subject == "two"]
    assert [(row.organisation, row.role_titles) for row in two] == [
        ("Bright Partners", ["Partner Administrator"])
    ]
    text = b"".join(export.streaming_content).decode()
    assert "Acme" not in text
    assert "org-acme" not in text
    assert "Client Staff" not in text
    assert client.get("/admin/compliance/", {"role": "client_staff"}).context["rows"] == []


def test_sorting_by_organisation_and_account(client, sign_in_as, population):
    sign_in_as(["aidial_admin"], sub="viewer", org_domain="zz.example")
    rows = client.get("/admin/compliance/", {"sort": "account"}).context["rows"]
    logins = [row.account.login_name for row in rows]
    assert logins == sorted(logins)
    rows = client.get("/admin/compliance/", {"sort": "organisation"}).context["rows"]
    assert rows[0].account.org_domain == "acme.example"


def test_keyset_pages_walk_forward_and_back(client, sign_in_as, make_account, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    now = timezone.now()
    for n in range(8):
        make_account(sub=f"a{n}", last_status="compliant", last_sign_in_at=now - timedelta(n))
    make_account(sub="never-1")  # no sign-in: sorted last
    sign_in_as(["aidial_admin"], sub="viewer", last_sign_in_at=now + timedelta(1))
    seen, pages, params = [], [], {}
    while True:
        page = client.get("/admin/compliance/", params).context["page"]
        pages.append(page)
        seen += [row.subject for row in page.rows]
        if not page.next_cursor:
            break
        params = {"after": page.next_cursor}
    assert seen == ["viewer", *(f"a{n}" for n in range(8)), "never-1"]
    back = client.get("/admin/compliance/", {"before": pages[-1].previous_cursor})
    assert [row.account.subject for row in back.context["rows"]] == ["a5", "a6", "a7"]


def test_a_page_is_one_limited_query_without_offset_or_count(
    client, sign_in_as, population, monkeypatch
):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    sign_in_as(["aidial_admin"], sub="viewer")
    first = client.get("/admin/compliance/", {"sort": "account"}).context["page"]
    with CaptureQueriesContext(connection) as queries:
        client.get("/admin/compliance/", {"sort": "account", "after": first.next_cursor})
    report = [q["sql"] for q in queries if 'login_name" ASC' in q["sql"]]
    assert len(report) == 1
    assert "OFFSET" not in report[0]
    assert "COUNT(" not in report[0].upper()
    assert "LIMIT 3" in report[0]


def test_garbled_cursor_reads_as_the_first_page(client, sign_in_as, population):
    sign_in_as(["aidial_admin"], sub="viewer")
    response = client.get("/admin/compliance/", {"after": "not-a-cursor!!"})
    assert response.status_code == 200
    assert len(response.context["rows"]) == len(population) + 1


def test_csv_export_has_the_filtered_rows_and_records_an_event(client, sign_in_as, population):
    viewer = sign_in_as(["aidial_admin"], sub="viewer")
    response = client.get("/admin/compliance/export.csv", {"status": "not_enrolled"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="mfa-compliance-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [column.title for column in COLUMNS]
    signed_in = local_time(population[ReportStatus.NOT_ENROLLED].last_sign_in_at)
    assert rows[1] == [
        "acme-new@example.test",
        "Acme Clinics",
        "Client Staff",
        "Optional",
        f"No authenticator app; no recovery codes (seen at sign-in, {signed_in})",
        f"{signed_in}, no recognised factor",
        "Not enrolled",
    ]
    assert signed_in.endswith((" AEDT", " AEST"))
    assert len(rows) == 2
    event = SecurityEvent.objects.get(event_type="report_exported")
    assert event.account_id == viewer.pk
    assert event.details["status"] == "not_enrolled"


@pytest.mark.parametrize(
    "payload", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"]
)
def test_csv_export_neutralises_formulas(client, sign_in_as, make_account, payload):
    evil = make_account(sub="evil", org_domain=payload, org_id="org-evil")
    Organisation.objects.create(org_id="org-evil", name=payload)
    Account.objects.filter(pk=evil.pk).update(login_name=payload)
    sign_in_as(["aidial_admin"], sub="viewer")
    response = client.get("/admin/compliance/export.csv", {"organisation": "org-evil"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    assert rows[1][0] == "'" + payload
    assert rows[1][1] == "'" + payload


def test_pages_cross_from_signed_in_accounts_to_never_signed_in_and_back(
    client, sign_in_as, make_account, monkeypatch
):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    now = timezone.now()
    for n in range(4):
        make_account(sub=f"a{n}", last_status="compliant", last_sign_in_at=now - timedelta(n))
    for n in range(4):
        make_account(sub=f"never-{n}")
    sign_in_as(["aidial_admin"], sub="viewer", last_sign_in_at=now + timedelta(1))
    pages, params = [], {}
    while True:
        page = client.get("/admin/compliance/", params).context["page"]
        pages.append(page)
        if not page.next_cursor:
            break
        params = {"after": page.next_cursor}
    never = sorted(
        (f"never-{n}" for n in range(4)),
        key=lambda sub: -Account.objects.get(subject=sub).pk,
    )
    forward = [row.subject for page in pages for row in page.rows]
    assert forward == ["viewer", "a0", "a1", "a2", "a3", *never]
    backward = []
    cursor = pages[-1].previous_cursor
    while cursor:
        page = client.get("/admin/compliance/", {"before": cursor}).context["page"]
        backward = [row.subject for row in page.rows] + backward
        cursor = page.previous_cursor
    assert backward + [row.subject for row in pages[-1].rows] == forward


def test_a_person_without_a_portal_role_is_one_row_without_an_organisation_for_global_viewers(
    client, sign_in_as, make_account
):
    make_account(sub="norole", roles=[], org_id="", last_sign_in_at=timezone.now())
    sign_in_as(["aidial_operator"], sub="viewer", org_id="org-aidial")

    rows = client.get("/admin/compliance/").context["rows"]

    (row,) = [row for row in rows if row.account.subject == "norole"]
    assert (row.organisation, row.roles, row.requirement) == ("", (), "No portal role")
