"""The session backend for accounts signed in through the provider. It never checks passwords."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from aidial_portal.accounts.models import Account

BACKEND = "aidial_portal.accounts.backends.ProviderAccountBackend"


class ProviderAccountBackend:
    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: int) -> Account | None:
        return Account.objects.filter(pk=user_id).first()
