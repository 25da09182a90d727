"""The provider-facing objects of this process, built once from settings.

Each process keeps one directory (discovery and JWKS cache), one set of service credentials
(so one JWT profile grant serves many sign-ins) and one evidence reader; tests reset them when
they change settings.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from aidial_portal.config import is_trusted_provider_url
from aidial_portal.identity.discovery import ProviderDirectory
from aidial_portal.identity.service_credentials import (
    CredentialsUnavailable,
    KeyFileError,
    ServiceCredentials,
    load_service_key,
)
from aidial_portal.identity.service_credentials import (
    service_credentials as build_service_credentials,
)
from aidial_portal.identity.zitadel import EvidenceReader, ZitadelEvidenceReader


@functools.cache
def directory() -> ProviderDirectory:
    return ProviderDirectory(settings.AIDIAL.issuer)


def _token_endpoint() -> str:
    endpoint = directory().metadata().get("token_endpoint")
    if not isinstance(endpoint, str) or not is_trusted_provider_url(
        endpoint, settings.AIDIAL.issuer
    ):
        raise CredentialsUnavailable("provider_malformed")
    return endpoint


@functools.cache
def service_credentials() -> ServiceCredentials:
    """Raises ImproperlyConfigured (naming the variable, never the key) for a bad key file."""
    config = settings.AIDIAL
    try:
        key = load_service_key(config.service_key_file) if config.service_key_file else None
    except KeyFileError as error:
        raise ImproperlyConfigured(str(error)) from None
    return build_service_credentials(
        token=config.service_token,
        key=key,
        issuer=config.issuer,
        token_endpoint=_token_endpoint,
    )


@functools.cache
def evidence_reader() -> EvidenceReader:
    config = settings.AIDIAL
    return ZitadelEvidenceReader(
        config.api_url,
        service_credentials(),
        mode=config.evidence_mode,
        accepted=config.accepted_factors,
    )


def reset() -> None:
    directory.cache_clear()
    service_credentials.cache_clear()
    evidence_reader.cache_clear()


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: object) -> None:
    if setting == "AIDIAL":
        reset()
