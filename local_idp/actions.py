"""Actions v2 event executions, as Zitadel sends them to a target.

Each event is POSTed as JSON (`ContextInfoEvent`: `aggregateID`, `aggregateType`,
`resourceOwner`, `instanceID`, `version`, `sequence`, `event_type`, `created_at`, `userID`
(the editor), `event_payload` (base64 of the event's JSON, as Go marshals a []byte)), signed
`ZITADEL-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "t.body">` with the target's
signing key (zitadel/zitadel `internal/repository/execution/queue.go`,
`internal/execution/execution.go`, `pkg/actions/signing.go`).

Like Zitadel, a delivery is tried once: an error or a non-2xx answer is logged and the event is
not sent again (`internal/execution/worker.go` cancels the job).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from local_idp.models import ActionTarget, Grant, IdpSession, User, the_project

log = logging.getLogger("local_idp.actions")

INSTANCE_ID = "local-instance"
SIGNING_HEADER = "ZITADEL-Signature"
# The editor of changes made with `aidial-portal idp ...` (an administrator in Zitadel).
COMMAND_LINE_EDITOR = "local-idp-admin"


def add_target(endpoint: str, timeout: int = 10) -> dict[str, Any]:
    """Register (or renew) a webhook target; its new signing key is returned once."""
    parts = urlsplit(endpoint)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {endpoint!r}")
    key = secrets.token_urlsafe(32)
    target, _ = ActionTarget.objects.update_or_create(
        endpoint=endpoint, defaults={"signing_key": key, "timeout_seconds": timeout}
    )
    return {"id": target.id, "endpoint": endpoint, "signingKey": key}


def signature_header(body: bytes, key: str, timestamp: int) -> str:
    mac = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def emit(
    event_type: str,
    *,
    aggregate_type: str,
    aggregate_id: str,
    resource_owner: str,
    editor: str,
    payload: dict[str, Any] | None = None,
) -> int:
    """Send one event to every target; the number that answered 2xx."""
    targets = list(ActionTarget.objects.all())
    if not targets:
        return 0
    event: dict[str, Any] = {
        "aggregateID": aggregate_id,
        "aggregateType": aggregate_type,
        "resourceOwner": resource_owner,
        "instanceID": INSTANCE_ID,
        "version": "v2" if aggregate_type == "user" else "v1",
        "sequence": time.time_ns(),
        "event_type": event_type,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "userID": editor,
    }
    if payload:
        event["event_payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    body = json.dumps(event, separators=(",", ":")).encode()
    return sum(_deliver(target, body, event_type) for target in targets)


def _deliver(target: ActionTarget, body: bytes, event_type: str) -> bool:
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL checked at registration
        target.endpoint,
        data=body,
        headers={
            "Content-Type": "application/json",
            SIGNING_HEADER: signature_header(body, target.signing_key, int(time.time())),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=target.timeout_seconds) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        log.warning("event %s to target %s failed: %s", event_type, target.id, type(error).__name__)
        return False
    if not 200 <= status < 300:
        log.warning("event %s to target %s answered HTTP %s", event_type, target.id, status)
        return False
    log.info("event %s delivered to target %s", event_type, target.id)
    return True


def user_event(event_type: str, user: User, *, editor: str) -> int:
    return emit(
        event_type,
        aggregate_type="user",
        aggregate_id=user.pk,
        resource_owner=user.organization_id,
        editor=editor,
    )


def grant_id(grant: Grant) -> str:
    """The authorization's id as Zitadel shows it (one role per grant here)."""
    return f"{grant.pk}"


def grant_added(grant: Grant, *, editor: str) -> int:
    return emit(
        "user.grant.added",
        aggregate_type="usergrant",
        aggregate_id=grant_id(grant),
        resource_owner=grant.organization_id,
        editor=editor,
        payload={
            "userId": grant.user_id,
            "projectId": the_project().id,
            "roleKeys": [grant.role],
        },
    )


def grant_removed(grant: Grant, *, editor: str) -> int:
    # Zitadel's UserGrantRemovedEvent has no payload: only the grant's id names it.
    return emit(
        "user.grant.removed",
        aggregate_type="usergrant",
        aggregate_id=grant_id(grant),
        resource_owner=grant.organization_id,
        editor=editor,
    )


def session_terminated(session: IdpSession) -> int:
    return emit(
        "session.terminated",
        aggregate_type="session",
        aggregate_id=session.pk,
        resource_owner=session.user.organization_id,
        editor=session.user_id,
    )
