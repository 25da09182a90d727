"""The provider-facing objects of this process, built once from settings.

Each process keeps one directory (discovery and JWKS cache) and one evidence reader; tests
reset them when they change settings.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from aidial_portal.identity.directory import ProviderDirectory
from aidial_portal.identity.zitadel import EvidenceReader, ZitadelEvidenceReader


@functools.cache
def directory() -> ProviderDirectory:
    return ProviderDirectory(settings.AIDIAL.issuer)


@functools.cache
def evidence_reader() -> EvidenceReader:
    config = settings.AIDIAL
    return ZitadelEvidenceReader(config.api_url, config.service_token, mode=config.evidence_mode)


def reset() -> None:
    directory.cache_clear()
    evidence_reader.cache_clear()


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: object) -> None:
    if setting == "AIDIAL":
        reset()
