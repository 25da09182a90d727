"""The portal's directory client and `directory sync` against the local provider."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.core.management import call_command

from aidial_portal.accounts import directory_sync
from aidial_portal.accounts.models import Account, Organisation
from aidial_portal.identity.service_credentials import PersonalAccessToken
from aidial_portal.identity.zitadel_directory import ZitadelDirectory
from tests.support.idp import LocalIdp

pytestmark = pytest.mark.idp


@pytest.fixture(scope="module")
def token(local_idp: LocalIdp) -> str:
    return local_idp.service_token()


def test_the_directory_reads_every_list_from_the_provider(local_idp: LocalIdp, token: str) -> None:
    admin = local_idp.new_person("partner_admin", totp=True, org="Sync Partners")
    staff = local_idp.new_person("client_staff", grants=[("Sync Partners", "partner_user")])
    directory = ZitadelDirectory(local_idp.issuer, PersonalAccessToken(token), page_size=1)

    authorizations = directory.authorizations(local_idp.project_id())
    people = directory.people([admin.user_id, staff.user_id, "999"])
    organisations = directory.organisations()
    enrolments = directory.enrolments([admin.user_id, staff.user_id, "999"], concurrency=2)

    held = {(a.user_id, a.org_name): a.roles for a in authorizations}
    assert held[(admin.user_id, "Sync Partners")] == ("partner_admin",)
    assert held[(staff.user_id, "Sync Partners")] == ("partner_user",)
    assert set(people) == {admin.user_id, staff.user_id}
    assert people[admin.user_id].state == "active"
    assert "Sync Partners" in {org.name for org in organisations.values()}
    assert enrolments[admin.user_id].totp is True
    assert enrolments[staff.user_id].totp is False
    assert "999" not in enrolments


def test_directory_sync_against_the_provider_brings_in_people_who_never_signed_in(
    local_idp: LocalIdp, token: str, settings, monkeypatch, db, capsys
) -> None:
    never = local_idp.new_person("client_manager", org="Sync Clinics")
    settings.AIDIAL = replace(
        settings.AIDIAL,
        issuer=local_idp.issuer,
        api_url=local_idp.issuer,
        project_id=local_idp.project_id(),
    )
    monkeypatch.setattr(
        directory_sync,
        "directory_from_settings",
        lambda *, timeout: ZitadelDirectory(
            local_idp.issuer, PersonalAccessToken(token), timeout=timeout
        ),
    )

    call_command("directory", "sync")

    account = Account.objects.get(subject=never.user_id)
    assert account.last_sign_in_at is None
    assert account.roles == ["client_manager"]
    assert Organisation.objects.get(org_id=account.org_id).name == "Sync Clinics"
    assert token not in capsys.readouterr().out
