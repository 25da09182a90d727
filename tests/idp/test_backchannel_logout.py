"""Back-channel logout: when a session ends, each client it signed in to gets a logout token."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.idp.conftest import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty
from tests.support.idp import HostedLogin, IdpError, LocalIdp

EVENT = "http://schemas.openid.net/event/backchannel-logout"


class Receiver:
    """A relying party's back-channel logout endpoint on loopback: records every POST."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("ascii")
                received.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type", ""),
                        "form": {k: v[0] for k, v in parse_qs(body).items()},
                    }
                )
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/oidc/backchannel-logout/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    listening = Receiver()
    try:
        yield listening
    finally:
        listening.close()


@pytest.fixture(scope="module")
def bc_rp(local_idp: LocalIdp, receiver: Receiver) -> RelyingParty:
    client = local_idp.add_client(
        REDIRECT_URI, post_logout_uri=POST_LOGOUT_URI, backchannel_logout_uri=receiver.uri
    )
    return RelyingParty(
        local_idp, client["client_id"], client["client_secret"], client["project_id"]
    )


def _decode(idp: LocalIdp, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    jwks = httpx.get(idp.url("/oauth/v2/keys"), timeout=10).json()
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    return dict(decoded.header), dict(decoded.claims)


def _tokens_for(receiver: Receiver, sid: str, idp: LocalIdp) -> list[dict[str, Any]]:
    found = []
    for message in receiver.received:
        header, claims = _decode(idp, message["form"]["logout_token"])
        if claims["sid"] == sid:
            found.append({"header": header, "claims": claims, **message})
    return found


def test_sign_out_with_a_hint_sends_a_logout_token_before_returning(
    local_idp: LocalIdp, bc_rp: RelyingParty, receiver: Receiver, make_user
) -> None:
    user = make_user(["client_staff"])
    with HostedLogin(local_idp) as browser:
        signed_in = bc_rp.sign_in(browser, user["login"])
        browser.sign_out(
            id_token_hint=signed_in.tokens["id_token"], post_logout_redirect_uri=POST_LOGOUT_URI
        )

    sent = _tokens_for(receiver, signed_in.claims["sid"], local_idp)
    assert len(sent) == 1
    message = sent[0]
    assert message["content_type"] == "application/x-www-form-urlencoded"
    assert message["header"]["typ"] == "JWT"  # Zitadel signs it as any JWT
    assert message["header"]["alg"] == "RS256"
    claims = message["claims"]
    assert claims["iss"] == local_idp.issuer
    assert claims["aud"] == [bc_rp.client_id]
    assert claims["sub"] == user["user_id"]
    assert claims["events"] == {EVENT: {}}
    assert claims["jti"]
    # Zitadel: `iat` now minus one second of skew, `exp` 15 minutes from now.
    assert claims["exp"] - claims["iat"] == 15 * 60 + 1
    assert "nonce" not in claims


def test_terminate_sessions_ends_every_session_and_tells_the_client(
    local_idp: LocalIdp, bc_rp: RelyingParty, receiver: Receiver, make_user, api: httpx.Client
) -> None:
    user = make_user(["client_staff"])
    with HostedLogin(local_idp) as first, HostedLogin(local_idp) as second:
        sids = [bc_rp.sign_in(b, user["login"]).claims["sid"] for b in (first, second)]

        result = local_idp.terminate_sessions(user["login"])

        again = first.client.get(bc_rp.authorization().url)
    assert result["ended"] == 2
    assert sorted(result["session_ids"]) == sorted(sids)
    assert result["logout_tokens_delivered"] == 2
    for sid in sids:
        assert len(_tokens_for(receiver, sid, local_idp)) == 1
        assert api.get(f"/v2/sessions/{sid}").status_code == 404
    assert "/ui/login/login" in again.headers["Location"]


def test_a_session_is_announced_only_once(
    local_idp: LocalIdp, bc_rp: RelyingParty, receiver: Receiver, make_user
) -> None:
    user = make_user(["client_staff"])
    with HostedLogin(local_idp) as browser:
        sid = bc_rp.sign_in(browser, user["login"]).claims["sid"]
    local_idp.terminate_sessions(user["login"])

    second = local_idp.terminate_sessions(user["login"])

    assert second["ended"] == 0
    assert len(_tokens_for(receiver, sid, local_idp)) == 1


def test_clients_without_a_back_channel_uri_are_not_called(
    local_idp: LocalIdp, rp: RelyingParty, receiver: Receiver, make_user
) -> None:
    user = make_user(["client_staff"])
    with HostedLogin(local_idp) as browser:
        sid = rp.sign_in(browser, user["login"]).claims["sid"]

    result = local_idp.terminate_sessions(user["login"])

    assert result["ended"] == 1
    assert result["logout_tokens_delivered"] == 0
    assert _tokens_for(receiver, sid, local_idp) == []


def test_a_failed_delivery_is_logged_without_the_token_and_never_blocks_sign_out(
    local_idp: LocalIdp, make_user
) -> None:
    closed = Receiver()
    dead_uri = closed.uri
    closed.close()  # nothing listens there any more
    client = local_idp.add_client(
        REDIRECT_URI, post_logout_uri=POST_LOGOUT_URI, backchannel_logout_uri=dead_uri
    )
    dead_rp = RelyingParty(
        local_idp, client["client_id"], client["client_secret"], client["project_id"]
    )
    user = make_user(["client_staff"])
    with HostedLogin(local_idp) as browser:
        signed_in = dead_rp.sign_in(browser, user["login"])

        result = browser.sign_out(
            id_token_hint=signed_in.tokens["id_token"],
            post_logout_redirect_uri=POST_LOGOUT_URI,
            state="s",
        )

    assert result == f"{POST_LOGOUT_URI}?state=s"
    log = local_idp.log_text()
    assert f"back-channel logout to {dead_uri} for client {dead_rp.client_id} failed" in log
    assert signed_in.tokens["id_token"] not in log
    assert "logout_token" not in log


def test_an_unknown_login_is_refused_by_terminate_sessions(local_idp: LocalIdp) -> None:
    with pytest.raises(IdpError, match="no user"):
        local_idp.terminate_sessions("nobody.here@example.test")
