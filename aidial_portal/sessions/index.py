"""The index from a Zitadel session (`sid`) and a person (`sub`) to portal sessions.

Sessions live in Redis or the database under hashed keys, so "every session of this person"
cannot be found by scanning them; the binding written at sign-in says which stored session
belongs to whom. The index lives in the database, which every instance shares, whichever store
holds the sessions. Nothing here runs on the gate's path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from aidial_portal.sessions.backends import SessionStore, configured_store
from aidial_portal.sessions.backends.base import forget, stored_key
from aidial_portal.sessions.models import SessionBinding


@dataclass(frozen=True)
class Bound:
    """A live binding, as the revalidation reads it."""

    stored_key: str
    sid: str
    subject: str
    account_id: int | None


def session_store() -> SessionStore:
    """A store of the configured engine, used to end sessions by their stored key."""
    return configured_store()


def bind(
    session_key: str,
    *,
    sid: str | None,
    subject: str,
    account_id: int | None,
    now: datetime,
    max_age: int,
) -> None:
    """Record that the portal session `session_key` came from Zitadel session `sid`.

    One statement (an upsert: `INSERT ... ON CONFLICT DO UPDATE` on SQLite and PostgreSQL),
    where `update_or_create` took six on the sign-in's path. An empty key is refused: its
    binding would name no session, so back-channel logout and revalidation would end nothing.
    """
    if not session_key:
        raise ValueError("a session binding needs the session key the browser holds")
    fields = ["sid", "subject", "account_id", "created_at", "expires_at"]
    SessionBinding.objects.bulk_create(
        [
            SessionBinding(
                stored_key=stored_key(session_key),
                sid=sid or "",
                subject=subject,
                account_id=account_id,
                created_at=now,
                expires_at=now + timedelta(seconds=max_age),
            )
        ],
        update_conflicts=True,
        unique_fields=["stored_key"],
        update_fields=fields,
    )


def end_sessions(*, sid: str | None, subject: str | None) -> tuple[int, list[int | None]]:
    """End every portal session bound to `sid` (of `subject`, when both are given), or every
    session of `subject` when there is no `sid`. Returns the number of sessions that were live
    and the accounts they belonged to."""
    bindings = SessionBinding.objects.all()
    if sid:
        bindings = bindings.filter(sid=sid)
        if subject:
            bindings = bindings.filter(subject=subject)
    elif subject:
        bindings = bindings.filter(subject=subject)
    else:
        return 0, []
    ended, accounts = 0, []
    store = session_store()
    for binding in list(bindings.only("stored_key", "account_id")):
        if end(binding.stored_key, store=store):
            ended += 1
            accounts.append(binding.account_id)
    return ended, accounts


def change_sessions(
    subject: str, change: Callable[[dict[str, Any]], bool], *, now: datetime
) -> tuple[int, list[int | None]]:
    """Apply `change` to the stored data of every live session of `subject`, so that each
    session carries the news into its next request (the gate reads only the session).
    Returns the number changed and their accounts."""
    changed, accounts = 0, []
    store = session_store()
    bindings = SessionBinding.objects.filter(subject=subject, expires_at__gt=now).only(
        "stored_key", "account_id", "expires_at"
    )
    for binding in list(bindings):
        left = int((binding.expires_at - now).total_seconds())
        if store.rewrite_stored(binding.stored_key, change, timeout=left):
            changed += 1
            accounts.append(binding.account_id)
    return changed, accounts


def end(stored: str, *, store: SessionStore | None = None) -> bool:
    """End one session by its stored key, on every instance; True when it was live."""
    live = bool((store or session_store()).delete_stored(stored))
    forget(stored)
    return live


def live_bindings(now: datetime, *, batch: int = 500) -> Iterator[Bound]:
    """Every binding whose absolute lifetime has not run out, in stored-key order."""
    after = ""
    while True:
        rows = list(
            SessionBinding.objects.filter(stored_key__gt=after, expires_at__gt=now)
            .order_by("stored_key")
            .values_list("stored_key", "sid", "subject", "account_id")[:batch]
        )
        if not rows:
            return
        for stored, sid, subject, account in rows:
            yield Bound(stored, sid, subject, account)
        after = rows[-1][0]


def purge_expired(now: datetime) -> int:
    """Drop bindings past their absolute lifetime (their sessions have ended by then)."""
    with transaction.atomic():
        deleted, _ = SessionBinding.objects.filter(expires_at__lte=now).delete()
    return deleted


__all__ = [
    "Bound",
    "bind",
    "end",
    "end_sessions",
    "forget",
    "live_bindings",
    "purge_expired",
    "session_store",
    "stored_key",
]
