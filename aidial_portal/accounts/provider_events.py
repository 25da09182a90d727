"""Actions v2 events from Zitadel: what changed at the provider, applied to portal sessions.

Zitadel sends a logout token only when one of its sessions ends. A deactivated, locked or
removed user, a removed or changed authorization (user grant) and a removed authenticator
reach the portal only as event executions (docs/zitadel-setup.md, section 7, cites the
source). The body is Zitadel's `ContextInfoEvent`; the person concerned is its `aggregateID`
(the user, grant or session), never `userID` (the editor who made the change).

Each event is applied once: its identity is written, in the same database transaction as its
effects, to a table every instance shares, so a replay is refused anywhere and a failure
leaves neither the effects nor the mark.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from aidial_portal import metrics
from aidial_portal.accounts.session_state import SESSION_KEY
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.mfa.evidence import Evidence, Unavailable, authenticator_removed
from aidial_portal.sessions import index
from aidial_portal.sessions.models import KnownUserGrant, ProcessedProviderEvent

logger = logging.getLogger("aidial_portal.sessions")

# How long an event's identity is kept: far beyond the signature's 300 s tolerance, so a
# replayed delivery is refused as a replay, not only as stale.
KEEP_PROCESSED = timedelta(days=1)

# Event types, as `internal/repository/{user,usergrant,session}` in zitadel/zitadel name them.
USER_ENDED = frozenset({"user.deactivated", "user.locked", "user.removed"})
GRANT_ADDED = "user.grant.added"
GRANT_ENDED = frozenset(
    {
        "user.grant.changed",
        "user.grant.cascade.changed",
        "user.grant.deactivated",
        "user.grant.removed",
        "user.grant.cascade.removed",
    }
)
TOTP_REMOVED = "user.human.mfa.otp.removed"
SESSION_TERMINATED = "session.terminated"


class EventRefused(Exception):
    """The body is not an event the portal can read; a stable tag for logs and the answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Replayed(Exception):
    """This event was processed before (on any instance)."""


@dataclass(frozen=True)
class ProviderEvent:
    instance_id: str
    aggregate_type: str
    aggregate_id: str
    sequence: int
    event_type: str
    payload: Mapping[str, Any]

    @property
    def identity(self) -> str:
        """Zitadel sends no event id: (instance, aggregate, sequence) is unique per event."""
        parts = (
            self.instance_id,
            self.aggregate_type,
            self.aggregate_id,
            str(self.sequence),
            self.event_type,
        )
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def parse(body: bytes) -> ProviderEvent:
    """A `ContextInfoEvent` (`internal/repository/execution/queue.go`); `event_payload` is a
    Go []byte, so base64 of the event's JSON (absent when the event has none)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise EventRefused("not_json") from error
    if not isinstance(data, dict):
        raise EventRefused("not_an_event")
    event_type = data.get("event_type")
    aggregate_id = data.get("aggregateID")
    sequence = data.get("sequence", 0)
    if not isinstance(event_type, str) or not event_type:
        raise EventRefused("missing_event_type")
    if not isinstance(aggregate_id, str) or not aggregate_id:
        raise EventRefused("missing_aggregate_id")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise EventRefused("bad_sequence")
    return ProviderEvent(
        instance_id=_text(data.get("instanceID")),
        aggregate_type=_text(data.get("aggregateType")),
        aggregate_id=aggregate_id,
        sequence=sequence,
        event_type=event_type,
        payload=_payload(data.get("event_payload")),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _payload(raw: object) -> Mapping[str, Any]:
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str):
        raise EventRefused("bad_event_payload")
    try:
        decoded = json.loads(base64.b64decode(raw, validate=True) or b"null")
    except (binascii.Error, ValueError) as error:
        raise EventRefused("bad_event_payload") from error
    return decoded if isinstance(decoded, dict) else {}


def apply(event: ProviderEvent, *, now: datetime) -> str:
    """Act on one verified event, once; what was done (a tag). Raises `Replayed`, or a
    database error (nothing applied, the event not marked processed)."""
    handler = _HANDLERS.get(event.event_type)
    if handler is None:
        # Acknowledged and ignored: a broad execution (an event group) must do no harm.
        return "ignored"
    with transaction.atomic():
        _mark_processed(event, now)
        outcome = handler(event, now)
    logger.info("zitadel_event", extra={"event_type": event.event_type, "outcome": outcome})
    return outcome


def _mark_processed(event: ProviderEvent, now: datetime) -> None:
    ProcessedProviderEvent.objects.filter(expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            ProcessedProviderEvent.objects.create(
                event_hash=event.identity, expires_at=now + KEEP_PROCESSED
            )
    except IntegrityError as error:
        raise Replayed from error


def _end_user(event: ProviderEvent, now: datetime) -> str:
    return _end_sessions_of(event.aggregate_id, event)


def _grant_added(event: ProviderEvent, now: datetime) -> str:
    user = event.payload.get("userId")
    if not isinstance(user, str) or not user:
        return "grant_without_user"
    KnownUserGrant.objects.update_or_create(
        grant_id=event.aggregate_id, defaults={"subject": user, "updated_at": now}
    )
    return "grant_learnt"


def _grant_ended(event: ProviderEvent, now: datetime) -> str:
    known = KnownUserGrant.objects.filter(grant_id=event.aggregate_id).first()
    if known is None:
        # Only `user.grant.added` names the grant's user; this one was never seen.
        logger.warning("zitadel_event_unknown_grant", extra={"event_type": event.event_type})
        return "unknown_grant"
    if event.event_type in {"user.grant.removed", "user.grant.cascade.removed"}:
        known.delete()
    return _end_sessions_of(known.subject, event)


def _end_sessions_of(subject: str, event: ProviderEvent) -> str:
    ended, accounts = index.end_sessions(sid=None, subject=subject)
    _record(event, accounts, ended=ended)
    metrics.SESSIONS_ENDED.labels(reason="provider_event").inc(ended)
    return "sessions_ended"


def _session_terminated(event: ProviderEvent, now: datetime) -> str:
    ended, accounts = index.end_sessions(sid=event.aggregate_id, subject=None)
    _record(event, accounts, ended=ended)
    metrics.SESSIONS_ENDED.labels(reason="provider_event").inc(ended)
    return "sessions_ended"


def _totp_removed(event: ProviderEvent, now: datetime) -> str:
    changed, accounts = index.change_sessions(event.aggregate_id, _without_authenticator, now=now)
    _record(event, accounts, changed=changed)
    return "sessions_changed"


def _without_authenticator(data: dict[str, Any]) -> bool:
    """Mark a stored sign-in: its multi-factor check no longer counts (the gate reads it)."""
    signed_in = data.get(SESSION_KEY)
    if not isinstance(signed_in, dict) or not isinstance(signed_in.get("evidence"), dict):
        return False
    evidence = Evidence.from_dict(signed_in["evidence"])
    if evidence.unavailable is Unavailable.AUTHENTICATOR_REMOVED:
        return False
    signed_in["evidence"] = authenticator_removed(evidence).to_dict()
    return True


def _record(event: ProviderEvent, accounts: list[int | None], **counts: int) -> None:
    owners = set(accounts)
    record(
        EventTag.Session.PROVIDER_EVENT,
        account_id=owners.pop() if len(owners) == 1 else None,
        reason=event.event_type,
        details=dict(counts),
    )


_HANDLERS: dict[str, Callable[[ProviderEvent, datetime], str]] = {
    **dict.fromkeys(USER_ENDED, _end_user),
    GRANT_ADDED: _grant_added,
    **dict.fromkeys(GRANT_ENDED, _grant_ended),
    TOTP_REMOVED: _totp_removed,
    SESSION_TERMINATED: _session_terminated,
}
