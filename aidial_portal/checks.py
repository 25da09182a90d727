"""Start-up validation as Django system checks, in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.checks.registry import registry
from django.core.exceptions import ImproperlyConfigured

from aidial_portal.config import is_loopback, is_trusted_api_url, is_trusted_provider_url
from aidial_portal.identity.discovery import (
    IssuerMismatch,
    ProviderMisconfigured,
    ProviderUnavailable,
)
from aidial_portal.identity.service_credentials import CredentialsUnavailable, ServiceCredentials
from aidial_portal.mfa.levels import PHISHING_RESISTANT_FACTORS, Level
from aidial_portal.mfa.policy import ROLE_REQUIREMENTS, Requirement


@register(Tags.security)
def check_secret_key(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    try:
        missing = not settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to hand out an empty key
        missing = True
    if missing and not settings.DEBUG:
        return [
            Error(
                "AIDIAL_SECRET_KEY is not set.",
                hint="Set AIDIAL_SECRET_KEY to a long random value (AIDIAL_DEBUG=1 for "
                "development uses a throwaway key).",
                id="aidial.E001",
            )
        ]
    return []


@register(Tags.security)
def check_provider_urls(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    config = settings.AIDIAL
    errors: list[CheckMessage] = []
    issuer = httpx.URL(config.issuer)
    if not (issuer.scheme == "https" or (issuer.scheme == "http" and is_loopback(issuer.host))):
        errors.append(
            Error(
                f"AIDIAL_OIDC_ISSUER {config.issuer!r} is not trusted.",
                hint="Use https, or http only on a loopback address for development.",
                id="aidial.E002",
            )
        )
    if not is_trusted_api_url(config.api_url):
        errors.append(
            Error(
                f"AIDIAL_ZITADEL_API_URL {config.api_url!r} is not trusted: the service "
                "credential would travel over plain http. Every sign-in is refused.",
                hint="Use the Zitadel API's https URL (plain http only on a loopback address "
                "for development).",
                id="aidial.E005",
            )
        )
    for name, url in (
        ("AIDIAL_PROVIDER_SECURITY_URL", config.security_url),
        ("AIDIAL_PROVIDER_MANAGEMENT_URL", config.management_url),
    ):
        if not is_trusted_provider_url(url, config.issuer):
            errors.append(
                Error(
                    f"{name} {url!r} is not on the identity provider's origin.",
                    hint="Provider pages are trusted only on the issuer's own origin "
                    f"({config.issuer}).",
                    id="aidial.E003",
                )
            )
    return errors


@register()
def check_role_policy(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for role, requirement in settings.AIDIAL.role_table.items():
        if requirement not in {r.value for r in Requirement}:
            errors.append(
                Error(
                    f"AIDIAL_ROLE_POLICY gives role {role!r} the unknown requirement "
                    f"{requirement!r}.",
                    hint="Use 'required' or 'optional'.",
                    id="aidial.E004",
                )
            )
        elif (
            role in ROLE_REQUIREMENTS
            and ROLE_REQUIREMENTS[role] is Requirement.REQUIRED
            and (requirement == Requirement.OPTIONAL.value)
        ):
            errors.append(
                Warning(
                    f"AIDIAL_ROLE_POLICY makes MFA optional for {role!r}, which the user guide "
                    "lists as required.",
                    id="aidial.W001",
                )
            )
    return errors


@register(Tags.security)
def check_service_credentials(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    config = settings.AIDIAL
    if config.service_token and config.service_key_file:
        return [
            Error(
                "Both AIDIAL_ZITADEL_SERVICE_TOKEN and AIDIAL_ZITADEL_SERVICE_KEY_FILE are set.",
                hint="Set only one: the service user's personal access token, or its key file.",
                id="aidial.E030",
            )
        ]
    return []


def has_service_credentials(config: Any) -> bool:
    """A service user's personal access token, or its key file (JWT profile grant)."""
    return bool(config.service_token or config.service_key_file)


@register(Tags.security)
def check_amr_mode_credentials(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """`amr` cannot tell TOTP from SMS or e-mail codes; only the API's list of methods can."""
    config = settings.AIDIAL
    if config.evidence_mode.value != "amr" or has_service_credentials(config):
        return []
    table = {**ROLE_REQUIREMENTS, **_parsed(config.role_table)}
    mandatory = sorted(role for role, value in table.items() if value is Requirement.REQUIRED)
    if not mandatory:
        return []
    return [
        Error(
            "AIDIAL_MFA_EVIDENCE=amr without service credentials: `otp` in the ID token may be "
            "an SMS or e-mail code, so no one in a role that requires MFA "
            f"({', '.join(mandatory)}) can ever be compliant.",
            hint="Set AIDIAL_ZITADEL_SERVICE_TOKEN or AIDIAL_ZITADEL_SERVICE_KEY_FILE (a service "
            "user with user.read) so the portal can check that TOTP is the person's only "
            "one-time code.",
            id="aidial.E015",
        )
    ]


@register(Tags.security, deploy=True)
def check_project_id(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Only with `check --deploy`: without the project id Zitadel sends no roles."""
    if settings.AIDIAL.project_id:
        return []
    return [
        Error(
            "AIDIAL_ZITADEL_PROJECT_ID is not set: Zitadel sends roles only for the project "
            "named in the scope urn:zitadel:iam:org:project:id:<id>:aud, so everyone would "
            "sign in with no portal role.",
            hint="Set AIDIAL_ZITADEL_PROJECT_ID to the id of the Zitadel project that holds "
            "the portal's roles (Console: Projects, the project, its Resource Id).",
            id="aidial.E016",
        )
    ]


@register(Tags.security, deploy=True)
def check_actions_signing_key(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Only with `check --deploy`: `/zitadel/events/` is routed, but without the target's
    signing key it believes no delivery (it answers 404)."""
    if settings.AIDIAL.actions_signing_key:
        return []
    return [
        Warning(
            "AIDIAL_ZITADEL_ACTIONS_SIGNING_KEY is not set: /zitadel/events/ refuses every "
            "Actions v2 delivery, so a deactivated user, a removed role or a removed "
            "authenticator app reaches the portal only at the next sign-in.",
            hint="Create the Actions v2 target and its event executions (docs/zitadel-setup.md, "
            "section 7) and set the target's signing key.",
            id="aidial.W011",
        )
    ]


def _parsed(raw: Mapping[str, str]) -> dict[str, Requirement]:
    parsed = {}
    for role, value in raw.items():
        try:
            parsed[role] = Requirement(value)
        except ValueError:
            continue  # check_role_policy reports it
    return parsed


@register()
def check_support_email(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Support e-mail is all or nothing: half a configuration would store requests that
    everyone believes were e-mailed."""
    config = settings.AIDIAL
    given = {
        "AIDIAL_SUPPORT_EMAIL_TO": bool(config.support_email_to),
        "AIDIAL_EMAIL_HOST": bool(config.email_host),
        "AIDIAL_EMAIL_FROM": bool(config.email_from),
    }
    if any(given.values()) and not all(given.values()):
        missing = ", ".join(name for name, present in given.items() if not present)
        return [
            Error(
                f"Support e-mail is half configured: {missing} is not set.",
                hint="Set AIDIAL_SUPPORT_EMAIL_TO, AIDIAL_EMAIL_HOST and AIDIAL_EMAIL_FROM "
                "together, or none of them (requests are then kept in the portal only).",
                id="aidial.E020",
            )
        ]
    if config.email_password and not config.email_tls and not is_loopback(config.email_host):
        return [
            Error(
                "AIDIAL_EMAIL_PASSWORD would be sent to the SMTP server without TLS.",
                hint="Set AIDIAL_EMAIL_TLS=1, or use an SMTP relay on a loopback address.",
                id="aidial.E021",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_metrics_readable(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Outside debug /metrics answers only the bearer of the token, or a separate listener."""
    config = settings.AIDIAL
    if config.debug or config.metrics_token or config.metrics_listen is not None:
        return []
    return [
        Warning(
            "/metrics answers no one: AIDIAL_METRICS_TOKEN and AIDIAL_METRICS_LISTEN are unset.",
            hint="Set AIDIAL_METRICS_TOKEN (Prometheus sends it as a bearer token) or "
            "AIDIAL_METRICS_LISTEN=127.0.0.1:9102 (a separate loopback port, no token).",
            id="aidial.W042",
        )
    ]


# Checks that call out over the network: `check --deploy` runs them, start-up does not (the
# portal must start, and keep signed-in people working, while the provider is down).
NETWORK = "network"


def start_up_messages() -> list[CheckMessage]:
    """What `aidial-portal serve` checks before it starts: every check but the network ones,
    with Django's deployment checks when the portal is served over https outside debug."""
    deployed = settings.AIDIAL.base_url.startswith("https://") and not settings.DEBUG
    found: list[CheckMessage] = []
    for check in registry.get_checks(include_deployment_checks=deployed):
        if NETWORK not in getattr(check, "tags", ()):
            found.extend(check(app_configs=None, databases=None))
    return [message for message in found if not message.is_silenced()]


@register(Tags.security, NETWORK, deploy=True)
def check_provider_reachable(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Only with `check --deploy`: reach the issuer and the API with the service token."""
    from aidial_portal.identity import providers

    config = settings.AIDIAL
    try:
        metadata = providers.directory().metadata()
    except IssuerMismatch:
        return [
            Error(
                "The identity provider's discovery document names a different issuer than "
                f"AIDIAL_OIDC_ISSUER ({config.issuer}). Every sign-in will be refused.",
                hint="Set AIDIAL_OIDC_ISSUER to exactly the issuer Zitadel publishes.",
                id="aidial.E010",
            )
        ]
    except ProviderMisconfigured as problem:
        return [
            Error(f"The identity provider cannot be trusted: {problem.detail}.", id="aidial.E017")
        ]
    except ProviderUnavailable:
        return [
            Error(
                f"The identity provider at {config.issuer} could not be reached.",
                id="aidial.E011",
            )
        ]
    found = _discovery_messages(metadata)
    if config.evidence_mode.value == "session" and not has_service_credentials(config):
        return [
            Error(
                "Neither AIDIAL_ZITADEL_SERVICE_TOKEN nor AIDIAL_ZITADEL_SERVICE_KEY_FILE is "
                "set: session evidence cannot be read, so "
                "mandatory-MFA roles will never be compliant.",
                hint="Create a service user with session.read and user.read, or use "
                "AIDIAL_MFA_EVIDENCE=amr for Login V1.",
                id="aidial.E012",
            ),
            *found,
        ]
    if has_service_credentials(config):
        return [*found, *_check_api(config.api_url, providers.service_credentials())]
    return found


def _discovery_messages(metadata: Mapping[str, Any]) -> list[CheckMessage]:
    """What discovery says about the two endpoints Zitadel's defaults make the portal need."""
    found: list[CheckMessage] = []
    if not isinstance(metadata.get("userinfo_endpoint"), str):
        found.append(
            Error(
                "The provider's discovery document names no userinfo endpoint: with Zitadel's "
                "default application settings, roles and profile are only in userinfo, so "
                "everyone would sign in with no portal role.",
                hint="Point AIDIAL_OIDC_ISSUER at Zitadel itself, or turn on the application's "
                "'User roles inside ID Token' and 'User Info inside ID Token'.",
                id="aidial.E018",
            )
        )
    if not isinstance(metadata.get("end_session_endpoint"), str):
        found.append(
            Warning(
                "The provider's discovery document names no end-session endpoint: signing out "
                "of the portal will leave the Zitadel session signed in.",
                id="aidial.W010",
            )
        )
    if metadata.get("backchannel_logout_supported") is not True:
        # Zitadel advertises it only with the instance feature EnableBackChannelLogout on.
        found.append(
            Warning(
                "The provider's discovery document does not advertise "
                "backchannel_logout_supported: Zitadel sends no logout token, so a session "
                "ended there ends the portal session only at the next revalidation.",
                hint="Turn on the instance feature 'Back-channel logout' (EnableBackChannelLogout) "
                "and register {AIDIAL_BASE_URL}/oidc/backchannel-logout/ on the application. "
                "Sessions signed in before that get no logout token.",
                id="aidial.W012",
            )
        )
    return found


def _check_api(api_url: str, credentials: ServiceCredentials) -> list[CheckMessage]:
    variable = (
        "AIDIAL_ZITADEL_SERVICE_KEY_FILE"
        if settings.AIDIAL.service_key_file
        else "AIDIAL_ZITADEL_SERVICE_TOKEN"
    )
    probe = f"{api_url}/v2/users/aidial-deploy-check/authentication_methods"
    try:
        authorization = credentials.authorization() or ""
        response = httpx.get(probe, headers={"Authorization": authorization}, timeout=3.0)
    except CredentialsUnavailable as error:
        if error.reason != "provider_unauthorised":
            return [
                Error(
                    f"No access token could be had for {variable}: {error.reason}.",
                    id="aidial.E013",
                )
            ]
        response = httpx.Response(401)
    except httpx.HTTPError:
        return [Error(f"The Zitadel API at {api_url} could not be reached.", id="aidial.E013")]
    if response.status_code in {401, 403}:
        return [
            Error(
                f"The Zitadel API refused {variable}.",
                hint="The service user needs user.read and session.read.",
                id="aidial.E014",
            )
        ]
    return []


@register()
def check_factor_levels(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A level no sign-in can meet locks a role out; `amr` cannot show which factor was used."""
    config = settings.AIDIAL
    strict = sorted(role for role, level in config.role_levels.items() if level is not Level.MFA)
    errors: list[CheckMessage] = []
    if strict and config.evidence_mode.value == "amr":
        errors.append(
            Error(
                f"AIDIAL_ROLE_LEVELS asks for a phishing-resistant factor ({', '.join(strict)}), "
                "but AIDIAL_MFA_EVIDENCE=amr cannot tell a passkey or security key from other "
                "factors.",
                hint="Use AIDIAL_MFA_EVIDENCE=session (Login V2), or give these roles the "
                "level 'mfa'.",
                id="aidial.E040",
            )
        )
    if strict and not config.accepted_factors & PHISHING_RESISTANT_FACTORS:
        errors.append(
            Error(
                f"AIDIAL_ROLE_LEVELS asks for a passkey or security key ({', '.join(strict)}), "
                "but AIDIAL_ACCEPTED_FACTORS accepts neither, so no one in these roles could "
                "sign in.",
                hint="Add passkey and/or security_key to AIDIAL_ACCEPTED_FACTORS.",
                id="aidial.E041",
            )
        )
    unseen = sorted(config.accepted_factors & PHISHING_RESISTANT_FACTORS)
    if unseen and config.evidence_mode.value == "amr":
        errors.append(
            Warning(
                f"AIDIAL_ACCEPTED_FACTORS lists {', '.join(unseen)}, which "
                "AIDIAL_MFA_EVIDENCE=amr never sees (the ID token's `amr` cannot name them).",
                hint="Read the session state instead (AIDIAL_MFA_EVIDENCE=session).",
                id="aidial.W040",
            )
        )
    return errors
