"""`request.user` from the same source as the gate: the session's sign-in.

Django's own AuthenticationMiddleware also compares a hash of the account's password field with
one stored at sign-in, and flushes the session when they differ. Our accounts have no password,
so that hash says nothing about this session; when it changed, some pages (those reading
`request.user`) treated the person as signed out while the gate and others did not. Here the
session's sign-in (`session_state`) is the one answer everywhere, and signing in on another
device never signs this one out.
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from aidial_portal.accounts import session_state
from aidial_portal.accounts.models import Account


def signed_in_account(request: HttpRequest) -> Account | AnonymousUser:
    """The account the session's sign-in names, or AnonymousUser (one query, only if read)."""
    found = (
        session_state.account_id(request.session)
        if session_state.load(request.session) is not None
        else None
    )
    account = Account.objects.filter(pk=found).first() if found is not None else None
    return account or AnonymousUser()


class SignedInAccountMiddleware(AuthenticationMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        request.user = SimpleLazyObject(lambda: signed_in_account(request))  # type: ignore[assignment]

        async def auser() -> Account | AnonymousUser:
            from asgiref.sync import sync_to_async

            return await sync_to_async(signed_in_account)(request)

        request.auser = auser
