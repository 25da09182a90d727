"""Actions v2: the local provider sends Zitadel's signed event executions to its targets, and
the portal's own verifier believes them."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aidial_portal.sessions.signature import HEADER, verify
from tests.support.idp import IdpError, LocalIdp, start_local_idp

PASSWORD = "Correct-horse-7!"


class Target:
    """A webhook target on loopback: records every delivery, answers `status`."""

    def __init__(self, status: int = 200) -> None:
        received: list[dict[str, Any]] = []
        self.received = received
        self.status = status
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append(
                    {
                        "body": body,
                        "content_type": self.headers.get("Content-Type", ""),
                        "signature": self.headers.get(HEADER, ""),
                    }
                )
                self.send_response(target.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/zitadel/events/"

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [
            json.loads(item["body"])
            for item in self.received
            if json.loads(item["body"])["event_type"] == event_type
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIdp]:
    provider = start_local_idp(tmp_path_factory.mktemp("actions-idp"))
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def target(idp: LocalIdp) -> Iterator[tuple[Target, str]]:
    receiver = Target()
    registered = idp.cli("add-target", "--url", receiver.url)
    yield receiver, registered["signingKey"]
    receiver.close()


def payload(event: dict[str, Any]) -> dict[str, Any]:
    """`event_payload` is base64 (a Go []byte), as Zitadel marshals it."""
    decoded: dict[str, Any] = json.loads(base64.b64decode(event["event_payload"]))
    return decoded


def test_add_target_prints_a_signing_key_and_the_target(idp: LocalIdp) -> None:
    receiver = Target()
    try:
        registered = idp.cli("add-target", "--url", receiver.url)
        assert registered["endpoint"] == receiver.url
        assert len(registered["signingKey"]) >= 32
        assert registered["id"]
    finally:
        receiver.close()


def test_add_target_refuses_what_is_not_an_http_url(idp: LocalIdp) -> None:
    with pytest.raises(IdpError, match="not an http"):
        idp.cli("add-target", "--url", "ftp://example.test/")


def test_every_delivery_is_signed_json_the_portal_verifies(
    idp: LocalIdp, target: tuple[Target, str]
) -> None:
    receiver, key = target
    idp.add_user("signed.grant@example.test", PASSWORD, ["partner_admin"])

    delivery = receiver.received[-1]
    assert delivery["content_type"] == "application/json"
    verify(delivery["signature"], delivery["body"], key, now=time.time())
    event = json.loads(delivery["body"])
    assert set(event) >= {
        "aggregateID",
        "aggregateType",
        "resourceOwner",
        "instanceID",
        "sequence",
        "event_type",
        "created_at",
        "userID",
    }


def test_a_new_role_is_announced_with_its_user_and_its_removal_with_only_its_id(
    idp: LocalIdp, target: tuple[Target, str]
) -> None:
    receiver, _ = target
    made = idp.add_user("grant.removed@example.test", PASSWORD, ["partner_admin"])
    [added] = [
        e for e in receiver.events("user.grant.added") if payload(e)["userId"] == made["user_id"]
    ]
    assert added["aggregateType"] == "usergrant"
    assert payload(added)["roleKeys"] == ["partner_admin"]

    result = idp.cli(
        "remove-grant",
        "--login",
        "grant.removed@example.test",
        "--grant",
        f"{made['org_id']}:partner_admin",
    )

    [removed] = [
        e for e in receiver.events("user.grant.removed") if e["aggregateID"] == added["aggregateID"]
    ]
    assert result["removed_grant"] == added["aggregateID"]
    assert "event_payload" not in removed  # Zitadel's removed event carries nothing
    assert removed["userID"] != made["user_id"]  # the editor, an administrator


def test_removing_the_authenticator_app_is_announced_for_the_user(
    idp: LocalIdp, target: tuple[Target, str]
) -> None:
    receiver, _ = target
    made = idp.add_user("totp.removed@example.test", PASSWORD, ["partner_admin"], totp=True)

    idp.cli("remove-totp", "--login", "totp.removed@example.test")

    [event] = [
        e
        for e in receiver.events("user.human.mfa.otp.removed")
        if e["aggregateID"] == made["user_id"]
    ]
    assert event["aggregateType"] == "user"
    with pytest.raises(IdpError, match="no authenticator app"):
        idp.cli("remove-totp", "--login", "totp.removed@example.test")


def test_a_deactivated_user_is_announced_once(idp: LocalIdp, target: tuple[Target, str]) -> None:
    receiver, _ = target
    made = idp.add_user("deactivated@example.test", PASSWORD, ["client_staff"])

    first = idp.cli("deactivate-user", "--login", "deactivated@example.test")
    again = idp.cli("deactivate-user", "--login", "deactivated@example.test")

    assert first["deactivated"] is True
    assert again["deactivated"] is False  # nothing changed, nothing announced
    assert [e["aggregateID"] for e in receiver.events("user.deactivated")].count(
        made["user_id"]
    ) == 1


def test_a_failed_delivery_is_not_tried_again(idp: LocalIdp) -> None:
    # Zitadel's execution worker cancels the job on any error: one try.
    refusing = Target(status=500)
    try:
        idp.cli("add-target", "--url", refusing.url)
        idp.add_user("refused.delivery@example.test", PASSWORD, ["client_staff"])
        assert len(refusing.events("user.grant.added")) == 1
    finally:
        refusing.close()
