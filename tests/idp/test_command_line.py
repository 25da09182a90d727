"""The command line: key rotation, demo seeding, start-up guard rails."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.idp.conftest import RelyingParty, verify_id_token
from tests.support.idp import REPO_ROOT, HostedLogin, IdpError, LocalIdp, _provider_env


def _kids(idp: LocalIdp) -> list[str]:
    keys = httpx.get(idp.url("/oauth/v2/keys"), timeout=10).json()["keys"]
    return [k["kid"] for k in keys]


def test_rotated_key_signs_from_now_on_and_the_old_one_stays_published(
    local_idp: LocalIdp, rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    before = rp.sign_in(hosted_login, password_user["login"])

    rotated = local_idp.cli("rotate-key")

    assert before.header["kid"] in rotated["previous_kids"]
    assert _kids(local_idp)[0] == rotated["kid"]
    assert before.header["kid"] in _kids(local_idp)
    after = rp.sign_in(hosted_login, password_user["login"], prompt="login")
    assert after.header["kid"] == rotated["kid"]
    verify_id_token(local_idp, before.tokens["id_token"])  # still verifiable


DEV_REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"


@pytest.fixture(scope="module")
def offline_idp(tmp_path_factory: pytest.TempPathFactory) -> LocalIdp:
    """The command line against a data dir of its own, without a server."""
    data_dir = tmp_path_factory.mktemp("offline-idp")
    return LocalIdp("http://127.0.0.1:9", data_dir, return_url="http://testserver/")


@pytest.fixture(scope="module")
def first_seed(offline_idp: LocalIdp) -> dict[str, Any]:
    seeded = offline_idp.cli("seed-demo", "--redirect-uri", DEV_REDIRECT_URI)
    return {**seeded, "secrets": json.loads(Path(seeded["demo_file"]).read_text())}


def test_seed_demo_is_idempotent_and_keeps_totp_secrets_out_of_its_output(
    offline_idp: LocalIdp, first_seed: dict[str, Any]
) -> None:
    demo_file = Path(first_seed["demo_file"])

    second = offline_idp.cli("seed-demo", "--redirect-uri", DEV_REDIRECT_URI)

    accounts = second["accounts"]
    assert len(accounts) == 16
    assert {a["roles"][0] for a in accounts} == {
        "partner_admin",
        "aidial_admin",
        "aidial_operator",
        "client_admin",
        "client_manager",
        "client_staff",
        "partner_user",
    }
    assert sum(a["totp"] for a in accounts) == 8
    assert "partner_admin.mfa@demo.aidial.test" in {a["login"] for a in accounts}
    orgs = {a["roles"][0]: a["org"] for a in accounts}
    assert orgs["client_staff"] == "Acme Clinics"
    assert orgs["partner_user"] == "Bright Partners"
    assert orgs["aidial_operator"] == "AiDial"
    assert second["client"]["client_id"] == "aidial-portal-dev"
    assert second["client"]["client_secret"] != first_seed["client"]["client_secret"]
    assert second["service_token"]
    printed = json.dumps(second)
    assert "totp_secret" not in printed
    assert "recovery_codes" not in printed
    assert stat.S_IMODE(demo_file.stat().st_mode) == 0o600
    second_secrets = json.loads(demo_file.read_text())
    assert second_secrets["accounts"] == first_seed["secrets"]["accounts"]


def test_demo_code_is_the_current_code_of_the_demo_account(
    offline_idp: LocalIdp, first_seed: dict[str, Any]
) -> None:
    secrets = first_seed["secrets"]["accounts"]
    account = next(a for a in secrets if a["login"] == "aidial_admin.mfa@demo.aidial.test")

    code = offline_idp.cli("demo-code", "--login", account["login"])["code"]

    assert pyotp.TOTP(account["totp_secret"]).verify(code, valid_window=1)


def test_add_user_refuses_an_unknown_role(offline_idp: LocalIdp) -> None:
    with pytest.raises(IdpError, match="unknown role"):
        offline_idp.add_user("x@example.test", "pw-123456789", ["superuser"])


def test_add_user_with_totp_reports_the_secret_and_ten_recovery_codes(
    offline_idp: LocalIdp,
) -> None:
    created = offline_idp.add_user("t@example.test", "pw-123456789", ["client_admin"], totp=True)

    assert set(created) == {"user_id", "login", "org_id", "grants", "totp_secret", "recovery_codes"}
    assert len(created["recovery_codes"]) == 10
    assert all(len(c) == 11 and c[5] == "-" for c in created["recovery_codes"])


def test_serve_refuses_a_non_loopback_host_without_allow_remote(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "local_idp", "serve", "--host", "0.0.0.0"],  # noqa: S104
        cwd=REPO_ROOT,
        env=_provider_env(tmp_path, "http://127.0.0.1:9", "http://testserver/"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode != 0
    assert "--allow-remote" in completed.stderr
    assert completed.stdout == ""


def test_commands_use_the_providers_settings_even_from_the_portals_environment(
    offline_idp: LocalIdp,
) -> None:
    env = {**offline_idp.env(), "DJANGO_SETTINGS_MODULE": "aidial_portal.settings"}

    completed = subprocess.run(
        [sys.executable, "-m", "local_idp", "service-token"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert set(json.loads(completed.stdout)) == {"token"}


def test_seed_demo_has_a_person_with_roles_in_two_organisations(
    first_seed: dict[str, Any],
) -> None:
    two_orgs = next(
        a for a in first_seed["accounts"] if a["login"] == "two.orgs.mfa@demo.aidial.test"
    )

    assert two_orgs["grants"] == [
        {"org": "Bright Partners", "role": "partner_admin"},
        {"org": "Acme Clinics", "role": "client_staff"},
    ]
    assert first_seed["project_id"] == first_seed["client"]["project_id"]


def test_seed_demo_has_people_who_never_sign_in_in_every_zitadel_state(
    first_seed: dict[str, Any],
) -> None:
    people = {p["login"]: p for p in first_seed["directory_only"]}

    assert people["new.starter@demo.aidial.test"] == {
        "login": "new.starter@demo.aidial.test",
        "org": "Acme Clinics",
        "role": "client_staff",
        "state": "active",
    }
    assert {p["state"] for p in people.values()} == {"active", "initial", "inactive", "locked"}
    # Not among the accounts one signs in with, and no password is printed for them.
    assert not set(people) & {a["login"] for a in first_seed["accounts"]}


def test_add_org_prints_an_18_digit_id_and_a_primary_domain_and_grants_accept_the_id(
    offline_idp: LocalIdp,
) -> None:
    org = offline_idp.add_org("Grant Target Org")

    created = offline_idp.add_user(
        "granted@example.test", "pw-123456789", [], grants=[(org["org_id"], "client_admin")]
    )

    assert len(org["org_id"]) == 18
    assert org["primary_domain"] == "grant-target-org.demo.aidial.test"
    assert created["grants"] == [
        {
            "org_id": org["org_id"],
            "org_name": "Grant Target Org",
            "primary_domain": org["primary_domain"],
            "role": "client_admin",
        }
    ]
