"""Creating organisations, users, clients and tokens (the command line's work)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
from django.db import transaction

from local_idp import config, crypto, factors
from local_idp.models import (
    ROLE_KEYS,
    Client,
    Organization,
    PersonalAccessToken,
    RecoveryCode,
    TotpDevice,
    User,
    new_resource_id,
    the_project,
)

DEMO_DOMAIN = "demo.aidial.test"
DEMO_PASSWORD = "Demo-pass-2026!"  # noqa: S105 - the published demo password
DEV_CLIENT_ID = "aidial-portal-dev"
SERVICE_USER_LOGIN = "aidial-portal-service"
DEMO_FILE_NAME = "demo-accounts.json"

ACME = "Acme Clinics"
BRIGHT = "Bright Partners"
AIDIAL = "AiDial"
# Which demo organisation a role's account belongs to.
ROLE_ORGS = {
    "client_admin": ACME,
    "client_manager": ACME,
    "client_staff": ACME,
    "partner_admin": BRIGHT,
    "partner_user": BRIGHT,
    "aidial_admin": AIDIAL,
    "aidial_operator": AIDIAL,
}


class ProvisioningError(Exception):
    """A command cannot do what was asked (bad role, login taken, ...)."""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "org"


def organization(name: str) -> Organization:
    org = Organization.objects.filter(name=name).first()
    if org is None:
        org = Organization.objects.create(name=name, primary_domain=f"{_slug(name)}.{DEMO_DOMAIN}")
    return org


def _check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLE_KEYS]
    if unknown:
        raise ProvisioningError(
            f"unknown role(s) {', '.join(unknown)}; known roles: {', '.join(ROLE_KEYS)}"
        )
    return list(dict.fromkeys(roles))


def _display_name(login: str) -> str:
    local = login.split("@", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._-]+", local) if part) or login


@dataclass
class Enrolment:
    secret: str
    recovery_codes: list[str]


def enrol_totp(user: User) -> Enrolment:
    secret = factors.new_totp_secret()
    return Enrolment(secret, factors.add_totp(user, secret))


@transaction.atomic
def add_user(
    login: str, password: str, roles: list[str], org_name: str | None, *, totp: bool
) -> dict[str, Any]:
    # A user with no role is allowed: a person the portal must show its "No access" page.
    roles = _check_roles(roles)
    if User.objects.filter(login_name__iexact=login).exists():
        raise ProvisioningError(f"a user with login name {login!r} exists already")
    org = organization(org_name or (ROLE_ORGS[roles[0]] if roles else ACME))
    user = User(
        login_name=login,
        display_name=_display_name(login),
        email=login if "@" in login else f"{login}@{org.primary_domain}",
        organization=org,
        roles=roles,
    )
    factors.set_password(user, password)
    user.save()
    result: dict[str, Any] = {"user_id": user.id, "login": user.login_name, "org_id": org.id}
    if totp:
        enrolment = enrol_totp(user)
        result["totp_secret"] = enrolment.secret
        result["recovery_codes"] = enrolment.recovery_codes
    return result


def _redirect_uri_list(uris: list[str]) -> list[str]:
    for uri in uris:
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", uri):
            raise ProvisioningError(f"not an absolute URI: {uri!r}")
    return list(dict.fromkeys(uris))


@transaction.atomic
def add_client(
    redirect_uris: list[str],
    post_logout_uris: list[str],
    *,
    public: bool,
    client_id: str | None = None,
) -> dict[str, Any]:
    """A client of the one project; re-using ``client_id`` gives it a fresh secret and URIs."""
    project = the_project()
    secret = "" if public else crypto.new_token(32)
    client_id = client_id or f"{new_resource_id()}@aidial-portal"
    Client.objects.update_or_create(
        client_id=client_id,
        defaults={
            "public": public,
            "project": project,
            "secret_digest": crypto.digest("client-secret", secret) if secret else "",
            "redirect_uris": _redirect_uri_list(redirect_uris),
            "post_logout_redirect_uris": _redirect_uri_list(post_logout_uris),
        },
    )
    return {"client_id": client_id, "client_secret": secret, "project_id": project.id}


@transaction.atomic
def service_token() -> str:
    """A new personal access token of the portal's service user (only its digest is kept)."""
    user = User.objects.filter(login_name=SERVICE_USER_LOGIN).first()
    if user is None:
        user = User.objects.create(
            kind=User.MACHINE,
            login_name=SERVICE_USER_LOGIN,
            display_name="AiDial Portal service",
            organization=organization(AIDIAL),
            roles=[],
        )
    token = crypto.new_token(40)
    PersonalAccessToken.objects.create(
        user=user, token_digest=crypto.digest("personal-access-token", token)
    )
    return token


def demo_file() -> Path:
    return config.data_dir() / DEMO_FILE_NAME


def _previous_demo_codes() -> dict[str, list[str]]:
    try:
        data = json.loads(demo_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {
        a["login"]: a.get("recovery_codes", [])
        for a in data.get("accounts", [])
        if isinstance(a, dict) and "login" in a
    }


def _codes_still_valid(user: User, codes: list[str]) -> bool:
    """Keep a demo account's recovery codes on re-seed only if the file still holds the
    complete, unused set."""
    unused = set(
        RecoveryCode.objects.filter(user=user, used_at__isnull=True).values_list(
            "code_digest", flat=True
        )
    )
    digests = {crypto.digest("recovery-code", crypto.normalise_recovery_code(c)) for c in codes}
    return len(codes) == crypto.RECOVERY_CODE_COUNT and digests == unused


def seed_demo(redirect_uris: list[str], post_logout_uris: list[str]) -> dict[str, Any]:
    previous_codes = _previous_demo_codes()
    accounts: list[dict[str, Any]] = []
    secrets_out: list[dict[str, Any]] = []
    with transaction.atomic():
        for role in ROLE_KEYS:
            org = organization(ROLE_ORGS[role])
            for with_totp in (False, True):
                login = f"{role}.mfa@{DEMO_DOMAIN}" if with_totp else f"{role}@{DEMO_DOMAIN}"
                user = User.objects.filter(login_name=login).first() or User(login_name=login)
                user.display_name = _display_name(login).replace(".mfa", "")
                user.email = login
                user.organization = org
                user.roles = [role]
                factors.set_password(user, DEMO_PASSWORD)
                user.save()
                accounts.append(
                    {
                        "login": login,
                        "password": DEMO_PASSWORD,
                        "roles": [role],
                        "org": org.name,
                        "totp": with_totp,
                    }
                )
                if not with_totp:
                    # Restore the demo state: this account has no second factor.
                    factors.remove_totp(user)
                    continue
                device = TotpDevice.objects.filter(user=user).first()
                if device is None:
                    enrolment = enrol_totp(user)
                    secret, codes = enrolment.secret, enrolment.recovery_codes
                else:
                    secret = device.secret
                    codes = previous_codes.get(login, [])
                    if not _codes_still_valid(user, codes):
                        codes = factors.replace_recovery_codes(user)
                secrets_out.append(
                    {
                        "login": login,
                        "totp_secret": secret,
                        "otpauth_uri": pyotp.TOTP(secret).provisioning_uri(
                            name=login, issuer_name=factors.TOTP_ISSUER
                        ),
                        "recovery_codes": codes,
                    }
                )
    result: dict[str, Any] = {"accounts": accounts}
    if redirect_uris:
        result["client"] = add_client(
            redirect_uris, post_logout_uris, public=False, client_id=DEV_CLIENT_ID
        )
    result["service_token"] = service_token()
    path = demo_file()
    config.write_private_file(
        path,
        json.dumps(
            {
                "password": DEMO_PASSWORD,
                "note": "Demo accounts of the local identity provider. Development only.",
                "accounts": secrets_out,
            },
            indent=2,
        ),
    )
    result["demo_file"] = str(path)
    return result


def demo_code(login: str) -> str:
    """The code a demo account's authenticator would show now (or the next one, if the
    current one has been used already)."""
    device = TotpDevice.objects.filter(user__login_name__iexact=login).first()
    if device is None:
        raise ProvisioningError(f"{login!r} has no authenticator app set up")
    step = factors.current_step()
    if device.last_used_step >= step:
        step = device.last_used_step + 1
    return pyotp.TOTP(device.secret).generate_otp(step)
