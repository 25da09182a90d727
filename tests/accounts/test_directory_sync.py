"""`aidial-portal directory sync` against a Zitadel that answers the Connect list calls."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aidial_portal.accounts import directory_sync
from aidial_portal.accounts.models import (
    Account,
    CommandLock,
    ComplianceSnapshot,
    Organisation,
    RoleGrant,
)
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.identity.service_credentials import PersonalAccessToken
from aidial_portal.identity.zitadel_directory import ZitadelDirectory

PROJECT = "312000000000000100"
TOKEN = "svc-token-c2VjcmV0LWRpcmVjdG9yeQ"
BRIGHT, ACME = "312000000000000201", "312000000000000202"


class FakeZitadel:
    """Zitadel's state and the four calls, paged by `offset`/`limit` as Zitadel pages."""

    def __init__(self) -> None:
        self.orgs = {
            BRIGHT: {"id": BRIGHT, "name": "Bright Partners", "primaryDomain": "bright.test"},
            ACME: {"id": ACME, "name": "Acme Clinics", "primaryDomain": "acme.test"},
        }
        self.users: dict[str, dict[str, Any]] = {}
        self.grants: list[dict[str, Any]] = []
        self.methods: dict[str, list[str]] = {}
        self.fail: int | None = None
        self.calls: list[str] = []

    def person(self, user_id: str, login: str, state: str = "USER_STATE_ACTIVE") -> None:
        self.users[user_id] = {
            "userId": user_id,
            "state": state,
            "username": login,
            "preferredLoginName": login,
            "human": {
                "profile": {"displayName": login.split("@", maxsplit=1)[0].title()},
                "email": {"email": login, "isVerified": True},
            },
        }
        self.methods[user_id] = ["AUTHENTICATION_METHOD_TYPE_PASSWORD"]

    def grant(self, user_id: str, org_id: str, *roles: str, state: str = "STATE_ACTIVE") -> None:
        self.grants.append(
            {
                "id": f"g{len(self.grants)}",
                "state": state,
                "project": {"id": PROJECT, "name": "AiDial Portal"},
                "organization": {"id": org_id, "name": self.orgs[org_id]["name"]},
                "user": {"id": user_id, "preferredLoginName": self.users[user_id]["username"]},
                "roles": [{"key": role} for role in roles],
            }
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.path)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if self.fail:
            return httpx.Response(self.fail, json={"code": "permission_denied", "message": "no"})
        body = json.loads(request.content)
        path = request.url.path.rsplit("/", 1)[-1]
        if path == "ListAuthenticationMethodTypes":
            if body["userId"] not in self.users:
                return httpx.Response(404, json={"code": "not_found", "message": "User not found"})
            return httpx.Response(200, json={"authMethodTypes": self.methods[body["userId"]]})
        if path == "ListAuthorizations":
            (project_filter,) = body["filters"]
            items = [
                g for g in self.grants if g["project"]["id"] == project_filter["projectId"]["id"]
            ]
            page, window = body["pagination"], "pagination"
        elif path == "ListUsers":
            wanted = set(body["queries"][0]["inUserIdsQuery"]["userIds"])
            items = [user for uid, user in self.users.items() if uid in wanted]
            page, window = body["query"], "details"
        else:
            items, page, window = list(self.orgs.values()), body["query"], "details"
        start, limit = int(page["offset"]), page["limit"]
        key = {"ListAuthorizations": "authorizations"}.get(path, "result")
        return httpx.Response(
            200,
            json={window: {"totalResult": str(len(items))}, key: items[start : start + limit]},
        )


@pytest.fixture
def zitadel(settings, monkeypatch, db) -> FakeZitadel:
    fake = FakeZitadel()
    settings.AIDIAL = replace(settings.AIDIAL, project_id=PROJECT)
    client = httpx.Client(transport=httpx.MockTransport(fake.handle))

    def directory(*, timeout: float) -> ZitadelDirectory:
        # Two items a page, so that every list is read over several pages.
        return ZitadelDirectory(
            "http://127.0.0.1:9", PersonalAccessToken(TOKEN), http=client, page_size=2
        )

    monkeypatch.setattr(directory_sync, "directory_from_settings", directory)
    return fake


def sync(capsys) -> str:
    call_command("directory", "sync")
    return capsys.readouterr().out


def test_people_who_never_signed_in_get_accounts_with_their_grants(zitadel, capsys):
    zitadel.person("u1", "ann@bright.test")
    zitadel.person("u2", "bob@acme.test")
    zitadel.person("u3", "cat@acme.test")
    zitadel.grant("u1", BRIGHT, "partner_admin")
    zitadel.grant("u2", ACME, "client_staff", "client_admin")
    zitadel.grant("u3", ACME, "client_staff")
    zitadel.grant("u3", BRIGHT, "partner_user")
    zitadel.methods["u3"].append("AUTHENTICATION_METHOD_TYPE_TOTP")

    output = sync(capsys)

    assert output.count("\n") == 1
    assert "3 people in 2 organisations; 3 new" in output
    accounts = {a.login_name: a for a in Account.objects.all()}
    assert set(accounts) == {"ann@bright.test", "bob@acme.test", "cat@acme.test"}
    assert all(a.last_sign_in_at is None for a in accounts.values())
    assert accounts["ann@bright.test"].requirement == "required"
    assert accounts["cat@acme.test"].directory_totp is True
    assert accounts["bob@acme.test"].directory_totp is False
    assert set(RoleGrant.objects.filter(account__subject="u3").values_list("org_id", "role")) == {
        (ACME, "client_staff"),
        (BRIGHT, "partner_user"),
    }
    assert dict(Organisation.objects.values_list("org_id", "name")) == {
        BRIGHT: "Bright Partners",
        ACME: "Acme Clinics",
    }
    (event,) = SecurityEvent.objects.filter(event_type="directory_synced")
    assert event.details["created"] == 3
    assert event.details["grants_added"] == 5
    # Bright's partner administrator requires MFA and has not signed in: not compliant.
    snapshot = ComplianceSnapshot.objects.get(org_id=BRIGHT)
    assert (snapshot.mandatory, snapshot.compliant) == (1, 0)
    assert not CommandLock.objects.exists()


def test_a_second_run_without_change_writes_only_its_event(zitadel, capsys):
    zitadel.person("u1", "ann@bright.test")
    zitadel.grant("u1", BRIGHT, "partner_admin")
    sync(capsys)

    with CaptureQueriesContext(connection) as queries:
        output = sync(capsys)

    written = {
        query["sql"].split()[2].strip('"')
        for query in queries.captured_queries
        if query["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}
    }
    # The run lock is taken and given back; the event is the only record of the run.
    assert written <= {"audit_securityevent", "accounts_commandlock"}
    assert "audit_securityevent" in written
    assert "0 new, 0 updated, 0 grants added, 0 removed" in output
    assert SecurityEvent.objects.filter(event_type="directory_synced").count() == 2


def test_grants_zitadel_no_longer_has_are_removed_and_people_marked(zitadel, capsys, make_account):
    signed_in = make_account(
        sub="u1", roles=["partner_admin"], org_id=BRIGHT, last_sign_in_at=timezone.now()
    )
    make_account(sub="gone", roles=["client_staff"], org_id=ACME)
    zitadel.person("u1", "ann@bright.test")
    zitadel.person("u2", "bob@acme.test", state="USER_STATE_LOCKED")
    zitadel.grant("u1", BRIGHT, "partner_user")
    zitadel.grant("u2", ACME, "client_staff")
    zitadel.grant("u2", BRIGHT, "partner_admin", state="STATE_INACTIVE")

    output = sync(capsys)

    signed_in.refresh_from_db()
    assert signed_in.roles == ["partner_user"]
    assert signed_in.last_sign_in_at is not None  # the sign-in record is kept
    assert list(signed_in.grants.values_list("role", flat=True)) == ["partner_user"]
    gone = Account.objects.get(subject="gone")
    assert gone.directory_state == "removed"
    assert not gone.grants.exists()
    locked = Account.objects.get(subject="u2")
    assert locked.directory_state == "locked"
    # An inactive authorization is no role (Zitadel leaves it out of tokens).
    assert list(locked.grants.values_list("role", flat=True)) == ["client_staff"]
    assert "1 removed from Zitadel" in output

    zitadel.users["u1"]["state"] = "USER_STATE_INACTIVE"
    assert "1 deactivated or locked" in sync(capsys)


@pytest.mark.parametrize(
    ("status", "named"),
    [(403, "IAM_OWNER_VIEWER"), (401, "AIDIAL_ZITADEL_SERVICE_TOKEN"), (503, "Zitadel")],
)
def test_a_provider_error_changes_nothing_and_names_the_fix(zitadel, capsys, status, named):
    zitadel.person("u1", "ann@bright.test")
    zitadel.grant("u1", BRIGHT, "partner_admin")
    sync(capsys)
    zitadel.grant("u1", ACME, "client_staff")
    zitadel.fail = status

    with pytest.raises(CommandError) as failure:
        call_command("directory", "sync")

    assert named in str(failure.value)
    assert "Nothing was changed" in str(failure.value)
    assert TOKEN not in str(failure.value)
    assert RoleGrant.objects.count() == 1
    assert SecurityEvent.objects.filter(event_type="directory_synced").count() == 1


def test_without_the_project_setting_the_run_names_it(zitadel, settings):
    settings.AIDIAL = replace(settings.AIDIAL, project_id="")
    with pytest.raises(CommandError, match="AIDIAL_ZITADEL_PROJECT_ID"):
        call_command("directory", "sync")


def test_a_second_run_while_one_is_in_progress_exits_saying_so(zitadel, capsys):
    zitadel.person("u1", "ann@bright.test")
    zitadel.grant("u1", BRIGHT, "partner_admin")
    with directory_sync.run_lock(timezone.now()), pytest.raises(SystemExit) as stopped:
        call_command("directory", "sync")
    assert stopped.value.code == 2
    assert "another run is in progress" in capsys.readouterr().err
    assert not Account.objects.exists()
    assert zitadel.calls == []


def test_a_lock_left_by_a_crashed_run_expires(zitadel, capsys):
    zitadel.person("u1", "ann@bright.test")
    zitadel.grant("u1", BRIGHT, "partner_admin")
    CommandLock.objects.create(
        name=directory_sync.LOCK_NAME,
        token="crashed",
        expires_at=timezone.now() - directory_sync.LOCK_LIFETIME / 60,
    )
    assert "1 new" in sync(capsys)


def test_unknown_roles_are_not_granted(zitadel, capsys):
    zitadel.person("u1", "ann@bright.test")
    zitadel.grant("u1", BRIGHT, "coffee_maker", "partner_user")
    sync(capsys)
    assert list(RoleGrant.objects.values_list("role", flat=True)) == ["partner_user"]
