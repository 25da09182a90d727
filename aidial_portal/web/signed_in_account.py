"""`request.sign_in` and `request.user`, both from one source: the session's sign-in.

`request.sign_in` is the typed sign-in (`session_state.CurrentSignIn`: account id, roles,
evidence, `compliance(now)`) or None, parsed from the session on first read and kept for the
rest of the request, with no query; every later step (session lifetimes, the gate, views,
navigation) reads it. `request.user` is the account it names, loaded only if something reads it.
Both are lazy: a page that reads neither (Help while the session store is down) never touches
the store.

Django's own AuthenticationMiddleware also compares a hash of the account's password field with
one stored at sign-in, and flushes the session when they differ. Our accounts have no password,
so that hash says nothing about this session; when it changed, some pages (those reading
`request.user`) treated the person as signed out while the gate and others did not. Here the
session's sign-in is the one answer everywhere, and signing in on another device never signs
this one out.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from aidial_portal.accounts import session_state
from aidial_portal.accounts.models import Account


def signed_in_account(request: HttpRequest) -> Account | AnonymousUser:
    """The account the request's sign-in names, or AnonymousUser (one query, only if read)."""
    sign_in = getattr(request, "sign_in", None)
    account = Account.objects.filter(pk=sign_in.account_id).first() if sign_in else None
    return account or AnonymousUser()


class _WithSignIn:
    """A lazy attribute that may be None, which `SimpleLazyObject` cannot stand in for: the
    request's class gains this property (set `request.sign_in` to replace the value)."""

    session: Any

    @cached_property
    def sign_in(self) -> session_state.CurrentSignIn | None:
        return session_state.load(self.session)


_request_classes: dict[type, type] = {}


def _with_sign_in(request_class: type) -> type:
    found = _request_classes.get(request_class)
    if found is None:
        found = type(request_class.__name__, (_WithSignIn, request_class), {})
        _request_classes[request_class] = found
    return found


class SignedInAccountMiddleware(AuthenticationMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        request.__class__ = _with_sign_in(type(request))
        request.user = SimpleLazyObject(lambda: signed_in_account(request))  # type: ignore[assignment]

        async def auser() -> Account | AnonymousUser:
            from asgiref.sync import sync_to_async

            return await sync_to_async(signed_in_account)(request)

        request.auser = auser


def signed_out(request: Any) -> None:
    """After the session ended in this request: nobody is signed in for the rest of it."""
    request.sign_in = None
    request.user = AnonymousUser()
