"""A small population of accounts in two organisations, one per report status."""

from datetime import timedelta

import pytest
from django.utils import timezone

from aidial_portal.accounts.models import Organisation
from aidial_portal.administration.compliance import ReportStatus

ACME, GLOBEX, INITECH = "org-acme", "org-globex", "org-initech"
DOMAINS = {ACME: "acme.example", GLOBEX: "globex.example", INITECH: "initech.example"}
NAMES = {ACME: "Acme Clinics", GLOBEX: "Globex Partners", INITECH: "Initech"}


@pytest.fixture
def population(make_account):
    now = timezone.now()
    # As the directory sync records them: organisations by name.
    for org_id, name in NAMES.items():
        Organisation.objects.create(org_id=org_id, name=name, primary_domain=DOMAINS[org_id])

    def account(sub, org, roles, status, **fields):
        domain = DOMAINS[org]
        defaults = {
            "org_id": org,
            "org_domain": domain,
            "requirement": "required" if {"partner_admin"} & set(roles) else "optional",
            "last_sign_in_at": now - timedelta(hours=len(sub)),
            "last_status": status,
            "last_factor": "totp" if status == "compliant" else "",
            "enrolled_observed": status != "not_enrolled",
            "recovery_codes_observed": status != "not_enrolled",
        }
        return make_account(sub=sub, roles=roles, **{**defaults, **fields})

    return {
        ReportStatus.COMPLIANT: account("acme-ok", ACME, ["partner_admin"], "compliant"),
        ReportStatus.NOT_ENROLLED: account("acme-new", ACME, ["client_staff"], "not_enrolled"),
        ReportStatus.WITHOUT_MFA: account(
            "acme-skip", ACME, ["client_manager"], "challenge_not_satisfied"
        ),
        ReportStatus.EVIDENCE_UNAVAILABLE: account(
            "globex-unknown",
            GLOBEX,
            ["partner_user"],
            "evidence_unavailable",
            enrolled_observed=None,
            recovery_codes_observed=None,
        ),
        ReportStatus.REMINDER_ACTIVE: account(
            "globex-reminded",
            GLOBEX,
            ["client_admin"],
            "compliant",
            last_factor="recovery_code",
            reminder_since=now,
            ack_pending="enrolment",
        ),
        ReportStatus.ACK_PENDING: account(
            "globex-pending", GLOBEX, ["client_staff"], "compliant", ack_pending="enrolment"
        ),
        ReportStatus.NEVER_SIGNED_IN: account(
            "initech-new",
            INITECH,
            ["partner_admin"],
            "",
            last_sign_in_at=None,
            enrolled_observed=None,
            recovery_codes_observed=None,
            directory_state="active",
            directory_totp=False,
            directory_recovery_codes=False,
        ),
        ReportStatus.INACTIVE: account(
            "initech-locked", INITECH, ["client_staff"], "compliant", directory_state="locked"
        ),
    }
