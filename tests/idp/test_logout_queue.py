"""Back-channel logout delivery as Zitadel queues it: a failed try is repeated with the same
`jti`, at most three tries within five minutes; a 400 is final. The queue is drained by the
test (`idp deliver-logout-tokens --at`), never by waiting."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.idp.conftest import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty
from tests.support.idp import HostedLogin, LocalIdp


class Client:
    """A relying party's back-channel endpoint answering the statuses it is given, in turn."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.jtis: list[str] = []
        client = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                token = parse_qs(body.decode("ascii"))["logout_token"][0]
                client.jtis.append(_claims(token)["jti"])
                status = client.statuses.pop(0) if client.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/oidc/backchannel-logout/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _claims(token: str) -> dict[str, Any]:
    # Only the claims matter here (the signature is tested in test_backchannel_logout).
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


@pytest.fixture
def client() -> Iterator[Client]:
    listening = Client()
    yield listening
    listening.close()


@pytest.fixture
def rp(local_idp: LocalIdp, client: Client) -> RelyingParty:
    made = local_idp.add_client(
        REDIRECT_URI, post_logout_uri=POST_LOGOUT_URI, backchannel_logout_uri=client.uri
    )
    return RelyingParty(local_idp, made["client_id"], made["client_secret"], made["project_id"])


def sign_in_and_terminate(idp: LocalIdp, rp: RelyingParty, make_user: Any) -> None:
    user = make_user(["client_staff"])
    with HostedLogin(idp) as browser:
        rp.sign_in(browser, user["login"])
    idp.terminate_sessions(user["login"])


def drain_at(idp: LocalIdp, after: timedelta) -> dict[str, Any]:
    return idp.cli("deliver-logout-tokens", "--at", (datetime.now(UTC) + after).isoformat())


@pytest.fixture(autouse=True)
def no_token_was_due_before(local_idp: LocalIdp) -> None:
    # Deliveries left owing by other tests would be tried by our drains too.
    drain_at(local_idp, timedelta(hours=1))


def test_a_failed_delivery_is_tried_again_with_the_same_jti(
    local_idp: LocalIdp, rp: RelyingParty, client: Client, make_user: Any
) -> None:
    client.statuses = [503]
    sign_in_and_terminate(local_idp, rp, make_user)
    assert len(client.jtis) == 1

    assert drain_at(local_idp, timedelta(seconds=30))["attempted"] == 0  # not due yet
    assert drain_at(local_idp, timedelta(minutes=1, seconds=1)) == {
        "attempted": 1,
        "delivered": 1,
    }
    assert len(client.jtis) == 2
    assert client.jtis[0] == client.jtis[1]


def test_a_400_is_final(
    local_idp: LocalIdp, rp: RelyingParty, client: Client, make_user: Any
) -> None:
    client.statuses = [400]
    sign_in_and_terminate(local_idp, rp, make_user)

    assert drain_at(local_idp, timedelta(minutes=10))["attempted"] == 0
    assert len(client.jtis) == 1


def test_at_most_three_tries_within_five_minutes(
    local_idp: LocalIdp, rp: RelyingParty, client: Client, make_user: Any
) -> None:
    client.statuses = [500, 500, 500, 500]
    sign_in_and_terminate(local_idp, rp, make_user)

    drain_at(local_idp, timedelta(minutes=1, seconds=1))
    drain_at(local_idp, timedelta(minutes=5, seconds=1))
    drain_at(local_idp, timedelta(minutes=30))

    assert len(client.jtis) == 3
    assert len(set(client.jtis)) == 1
