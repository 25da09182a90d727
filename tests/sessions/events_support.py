"""Deliveries as Zitadel's Actions v2 sends them: a signed `ContextInfoEvent`."""

from __future__ import annotations

import base64
import itertools
import json
import time
from typing import Any

from django.test import Client

from aidial_portal.sessions.signature import sign

ENDPOINT = "/zitadel/events/"
SIGNING_KEY = "target-signing-key-0123456789abcdef"
_sequence = itertools.count(1)


def event(event_type: str, aggregate_id: str, **changes: Any) -> dict[str, Any]:
    """The body Zitadel builds (`ContextInfoFromRequest`); `payload` is base64 as Go marshals
    a []byte. `userID` is the editor: an administrator, never the person concerned."""
    payload = changes.pop("payload", None)
    body: dict[str, Any] = {
        "aggregateID": aggregate_id,
        # Zitadel's aggregate types: `user`, `usergrant`, `session`.
        "aggregateType": "usergrant"
        if event_type.startswith("user.grant.")
        else event_type.split(".", maxsplit=1)[0],
        "resourceOwner": "org-1",
        "instanceID": "instance-1",
        "version": "v1",
        "sequence": next(_sequence),
        "event_type": event_type,
        "created_at": "2026-12-08T04:00:00.123456Z",
        "userID": "admin-editor",
    }
    if payload is not None:
        body["event_payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    body.update(changes)
    return body


def deliver(
    body: dict[str, Any] | bytes,
    *,
    key: str = SIGNING_KEY,
    at: float | None = None,
    header: str | None = None,
    client: Client | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signed = sign(raw, key, timestamp=int(time.time() if at is None else at))
    return (client or Client()).post(
        ENDPOINT,
        raw,
        content_type="application/json",
        HTTP_ZITADEL_SIGNATURE=signed if header is None else header,
    )
