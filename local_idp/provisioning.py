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
    Grant,
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


def _org_json(org: Organization) -> dict[str, str]:
    return {"org_id": org.id, "name": org.name, "primary_domain": org.primary_domain}


@transaction.atomic
def add_org(name: str) -> dict[str, Any]:
    """An organisation with an 18-digit id and a primary domain; an existing name is reused."""
    name = name.strip()
    if not name:
        raise ProvisioningError("an organisation needs a name")
    if name.isdigit():
        raise ProvisioningError("an organisation name cannot be all digits (ids are)")
    existed = Organization.objects.filter(name=name).exists()
    return {**_org_json(organization(name)), "created": not existed}


def find_organization(name_or_id: str) -> Organization:
    """An existing organisation, by id or by name."""
    org = (
        Organization.objects.filter(pk=name_or_id).first()
        or Organization.objects.filter(name=name_or_id).first()
    )
    if org is None:
        raise ProvisioningError(
            f"no organisation {name_or_id!r}; create it first with `idp add-org NAME`"
        )
    return org


def parse_grant(text: str) -> tuple[str, str]:
    """``ORG:ROLE`` (ORG an organisation name or id) into its two parts."""
    org, sep, role = text.rpartition(":")
    if not sep or not org.strip() or not role.strip():
        raise ProvisioningError(f"a grant is ORG:ROLE (organisation name or id), not {text!r}")
    return org.strip(), role.strip()


def _grants_json(user: User) -> list[dict[str, str]]:
    return [
        {
            "org_id": g.organization.id,
            "org_name": g.organization.name,
            "primary_domain": g.organization.primary_domain,
            "role": g.role,
        }
        for g in Grant.objects.filter(user=user).select_related("organization").order_by("id")
    ]


def _set_grants(user: User, grants: list[tuple[Organization, str]]) -> None:
    """Make the user's grants ``grants`` (duplicates collapse to one). A grant already held
    keeps its id; targets are told of each grant added and removed."""
    from local_idp import actions

    wanted = {(org.pk, role): org for org, role in grants}
    for grant in list(Grant.objects.filter(user=user)):
        if (grant.organization_id, grant.role) not in wanted:
            _remove_grant(grant, editor=actions.COMMAND_LINE_EDITOR)
    held = set(Grant.objects.filter(user=user).values_list("organization_id", "role"))
    for (org_id, role), org in wanted.items():
        if (org_id, role) not in held:
            _tell_added(Grant.objects.create(user=user, organization=org, role=role))


def _tell_added(grant: Grant) -> None:
    from local_idp import actions

    transaction.on_commit(lambda: actions.grant_added(grant, editor=actions.COMMAND_LINE_EDITOR))


def _remove_grant(grant: Grant, *, editor: str) -> None:
    from local_idp import actions

    removed = _delete_grant(grant)
    transaction.on_commit(lambda: actions.grant_removed(removed, editor=editor))


def _delete_grant(grant: Grant) -> Grant:
    """Delete ``grant``; what is left of it (its id, user and organisation) for the event."""
    removed = Grant(pk=grant.pk, user_id=grant.user_id, organization_id=grant.organization_id)
    grant.delete()
    return removed


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
    login: str,
    password: str,
    roles: list[str],
    org_name: str | None,
    *,
    totp: bool,
    grants: list[str] | None = None,
    otp_sms: str = "",
    otp_email: bool = False,
    passkey: bool = False,
    security_key: bool = False,
) -> dict[str, Any]:
    """A human user of ``org_name``; ``roles`` are held in that organisation, ``grants``
    (``ORG:ROLE``) in any existing organisation."""
    # A user with no role is allowed: a person the portal must show its "No access" page.
    roles = _check_roles(roles)
    other: list[tuple[Organization, str]] = []
    for text in grants or []:
        org_ref, role = parse_grant(text)
        _check_roles([role])
        other.append((find_organization(org_ref), role))
    if User.objects.filter(login_name__iexact=login).exists():
        raise ProvisioningError(f"a user with login name {login!r} exists already")
    if org_name:
        org = organization(org_name)
    elif roles:
        org = organization(ROLE_ORGS[roles[0]])
    elif other:
        org = other[0][0]
    else:
        org = organization(ACME)
    user = User(
        login_name=login,
        display_name=_display_name(login),
        email=login if "@" in login else f"{login}@{org.primary_domain}",
        organization=org,
    )
    if otp_sms and not re.match(r"^\+[1-9][0-9]{7,14}$", otp_sms):
        raise ProvisioningError(f"not a phone number in international format: {otp_sms!r}")
    user.phone = otp_sms
    user.otp_sms = bool(otp_sms)
    user.otp_email = otp_email
    user.passkey, user.security_key = passkey, security_key
    factors.set_password(user, password)
    user.save()
    _set_grants(user, [(org, role) for role in roles] + other)
    result: dict[str, Any] = {
        "user_id": user.id,
        "login": user.login_name,
        "org_id": org.id,
        "grants": _grants_json(user),
    }
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


MAX_CLOCK_SKEW = 5  # seconds; Zitadel's limit for an application's clock skew


@transaction.atomic
def add_client(
    redirect_uris: list[str],
    post_logout_uris: list[str],
    *,
    public: bool,
    client_id: str | None = None,
    id_token_roles: bool = False,
    id_token_userinfo: bool = False,
    clock_skew: int = 0,
    backchannel_logout_uri: str = "",
) -> dict[str, Any]:
    """A client of the one project, with Zitadel's default application settings unless told
    otherwise; re-using ``client_id`` gives it a fresh secret, URIs and settings."""
    if not 0 <= clock_skew <= MAX_CLOCK_SKEW:
        raise ProvisioningError(
            f"the clock skew must be 0 to {MAX_CLOCK_SKEW} seconds (Zitadel's limit), "
            f"not {clock_skew}"
        )
    if backchannel_logout_uri:
        _redirect_uri_list([backchannel_logout_uri])
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
            "id_token_role_assertion": id_token_roles,
            "id_token_userinfo_assertion": id_token_userinfo,
            "clock_skew": clock_skew,
            "backchannel_logout_uri": backchannel_logout_uri,
        },
    )
    return {
        "client_id": client_id,
        "client_secret": secret,
        "project_id": project.id,
        "id_token_roles": id_token_roles,
        "id_token_userinfo": id_token_userinfo,
        "clock_skew": clock_skew,
        "backchannel_logout_uri": backchannel_logout_uri,
    }


@transaction.atomic
def project_settings(assert_roles: bool | None = None) -> dict[str, Any]:
    """The project's id and settings; ``assert_roles`` changes "assert roles on
    authentication" when given."""
    project = the_project()
    if assert_roles is not None and project.assert_roles != assert_roles:
        project.assert_roles = assert_roles
        project.save(update_fields=["assert_roles"])
    return {"project_id": project.id, "name": project.name, "assert_roles": project.assert_roles}


def service_user() -> User:
    """The portal's service user (a machine user), created on first use."""
    user = User.objects.filter(login_name=SERVICE_USER_LOGIN).first()
    if user is None:
        user = User.objects.create(
            kind=User.MACHINE,
            login_name=SERVICE_USER_LOGIN,
            display_name="AiDial Portal service",
            organization=organization(AIDIAL),
        )
    return user


@transaction.atomic
def service_key(out: str | None = None) -> dict[str, Any]:
    """A new key file of the service user (mode 0600): its path, user id and key id."""
    from local_idp import service_users

    return service_users.new_key_file(service_user(), Path(out) if out else None)


@transaction.atomic
def service_token() -> str:
    """A new personal access token of the portal's service user (only its digest is kept)."""
    user = service_user()
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


# Demo people beyond one per role: (login base, own organisation, [(organisation, role), ...]).
MULTI_ORG_DEMO = ("two.orgs", BRIGHT, [(BRIGHT, "partner_admin"), (ACME, "client_staff")])


# Demo people who never sign in (no password): the directory sync brings them into the portal,
# as it does a new starter or a person who left. (login base, organisation, role, state)
DIRECTORY_ONLY_DEMO = (
    ("new.starter", ACME, "client_staff", "active"),
    ("new.partner", BRIGHT, "partner_admin", "active"),
    ("invited.manager", ACME, "client_manager", "initial"),
    ("left.company", BRIGHT, "partner_user", "inactive"),
    ("locked.out", ACME, "client_admin", "locked"),
)


def _seed_directory_only() -> list[dict[str, str]]:
    seeded = []
    for base, org_name, role, state in DIRECTORY_ONLY_DEMO:
        login = f"{base}@{DEMO_DOMAIN}"
        org = organization(org_name)
        user = User.objects.filter(login_name=login).first() or User(login_name=login)
        user.display_name = _display_name(login)
        user.email = login
        user.organization = org
        user.password = ""  # no password: this person cannot sign in
        user.state = state
        user.save()
        _set_grants(user, [(org, role)])
        seeded.append({"login": login, "org": org.name, "role": role, "state": state})
    return seeded


def _demo_people() -> list[tuple[str, str, list[tuple[str, str]]]]:
    people = [(role, ROLE_ORGS[role], [(ROLE_ORGS[role], role)]) for role in ROLE_KEYS]
    return [*people, MULTI_ORG_DEMO]


def seed_demo(
    redirect_uris: list[str], post_logout_uris: list[str], backchannel_logout_uri: str = ""
) -> dict[str, Any]:
    previous_codes = _previous_demo_codes()
    accounts: list[dict[str, Any]] = []
    secrets_out: list[dict[str, Any]] = []
    with transaction.atomic():
        for base, own_org, grant_specs in _demo_people():
            org = organization(own_org)
            grants = [(organization(name), role) for name, role in grant_specs]
            for with_totp in (False, True):
                login = f"{base}.mfa@{DEMO_DOMAIN}" if with_totp else f"{base}@{DEMO_DOMAIN}"
                user = User.objects.filter(login_name=login).first() or User(login_name=login)
                user.display_name = _display_name(login).replace(".mfa", "")
                user.email = login
                user.organization = org
                factors.set_password(user, DEMO_PASSWORD)
                user.save()
                _set_grants(user, grants)
                accounts.append(
                    {
                        "login": login,
                        "password": DEMO_PASSWORD,
                        "roles": [role for _, role in grant_specs],
                        "org": org.name,
                        "grants": [{"org": name, "role": role} for name, role in grant_specs],
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
        directory_only = _seed_directory_only()
    result: dict[str, Any] = {"accounts": accounts, "directory_only": directory_only}
    if redirect_uris:
        result["client"] = add_client(
            redirect_uris,
            post_logout_uris,
            public=False,
            client_id=DEV_CLIENT_ID,
            backchannel_logout_uri=backchannel_logout_uri,
        )
    result["project_id"] = the_project().id
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


def terminate_sessions(login: str) -> dict[str, Any]:
    """End every active session of ``login``; back-channel logout tells its clients."""
    from local_idp import logout

    if not User.objects.filter(login_name__iexact=login.strip()).exists():
        raise ProvisioningError(f"no user with login name {login!r}")
    ended = logout.end_sessions(logout.active_session_ids(login))
    return {
        "ended": len(ended.session_ids),
        "session_ids": ended.session_ids,
        "logout_tokens_delivered": ended.notified,
    }


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


def _user(login: str) -> User:
    user = User.objects.filter(login_name__iexact=login.strip()).first()
    if user is None:
        raise ProvisioningError(f"no user with login name {login!r}")
    return user


def add_target(url: str) -> dict[str, Any]:
    """An Actions v2 webhook target for every event; prints its signing key (once)."""
    from local_idp import actions

    try:
        return actions.add_target(url)
    except ValueError as error:
        raise ProvisioningError(str(error)) from error


def deactivate_user(login: str) -> dict[str, Any]:
    """Zitadel's DeactivateUser: no sign-in from now on; targets get `user.deactivated`."""
    from local_idp import actions

    user = _user(login)
    if user.state == "inactive":
        return {"login": user.login_name, "deactivated": False, "events_delivered": 0}
    user.state = "inactive"
    user.save(update_fields=["state"])
    delivered = actions.user_event("user.deactivated", user, editor=actions.COMMAND_LINE_EDITOR)
    return {"login": user.login_name, "deactivated": True, "events_delivered": delivered}


def remove_grant(login: str, grant_text: str) -> dict[str, Any]:
    """Remove one role grant (ORG:ROLE); targets get `user.grant.removed`."""
    from local_idp import actions

    user = _user(login)
    org_name, role = parse_grant(grant_text)
    org = find_organization(org_name)
    grant = Grant.objects.filter(user=user, organization=org, role=role).first()
    if grant is None:
        raise ProvisioningError(f"{user.login_name} holds no {role} in {org.name}")
    grant_id = actions.grant_id(grant)
    removed = _delete_grant(grant)
    # Told after the deletion (autocommit), so the count of deliveries can be returned.
    delivered = actions.grant_removed(removed, editor=actions.COMMAND_LINE_EDITOR)
    return {
        "login": user.login_name,
        "removed_grant": grant_id,
        "grants": _grants_json(user),
        "events_delivered": delivered,
    }


def remove_totp(login: str) -> dict[str, Any]:
    """Remove the user's authenticator app (and recovery codes), as an administrator would;
    targets get `user.human.mfa.otp.removed`."""
    from local_idp import actions

    user = _user(login)
    if not user.has_totp:
        raise ProvisioningError(f"{user.login_name} has no authenticator app set up")
    delivered = factors.remove_totp(user, editor=actions.COMMAND_LINE_EDITOR)
    return {"login": user.login_name, "totp": False, "events_delivered": delivered}


def announce_grants() -> dict[str, Any]:
    """Send `user.grant.added` for every grant to the targets: what Zitadel sent when each was
    made, for a target registered (or a portal started) after that. Development only."""
    from local_idp import actions

    sent = 0
    for grant in Grant.objects.filter(user__kind=User.HUMAN).order_by("id"):
        sent += actions.grant_added(grant, editor=actions.COMMAND_LINE_EDITOR) > 0
    return {"announced": sent}


def deliver_logout_tokens(at: str | None = None) -> dict[str, Any]:
    """Try the queued back-channel logout deliveries due at `at` (ISO 8601; default now)."""
    from datetime import datetime

    from local_idp import backchannel

    moment = None
    if at:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError as error:
            raise ProvisioningError(f"--at is not an ISO 8601 time: {at!r}") from error
        if moment.tzinfo is None:
            raise ProvisioningError("--at needs a time zone (e.g. ...Z or +00:00)")
    return backchannel.drain(moment)
