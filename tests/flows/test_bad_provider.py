"""A provider that mints bad ID tokens: the callback refuses each with its reason, creates no
session, logs the reason, and accepts a good token signed after a key rotation."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from aidial_portal.accounts import session_state
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.identity import oidc, providers
from tests.identity.provider import DROP, mint, public, signing_key, unsigned

pytestmark = pytest.mark.django_db
CLIENT_ID = "bad-provider-client"
PROJECT_ID = "999000111"


@dataclass
class MintingProvider:
    """Discovery, JWKS and a token endpoint whose ID token each test chooses."""

    issuer: str = ""
    kids: list[str] = field(default_factory=lambda: ["key-1"])
    discovery_issuer: str | None = None
    discovery_changes: dict[str, str] = field(default_factory=dict)
    make_token: Callable[[dict[str, Any]], str] | None = None
    nonce: str = ""

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        values: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "312000000000000001",
            "aud": [CLIENT_ID, PROJECT_ID],
            "azp": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "auth_time": now,
            "amr": ["pwd"],
            "nonce": self.nonce,
            "sid": "312000000000000777",
            "preferred_username": "someone@example.test",
            "urn:zitadel:iam:org:project:roles": {"client_staff": {"1": "example.test"}},
        }
        values.update(changes)
        return {name: value for name, value in values.items() if value is not DROP}


def serve(provider: MintingProvider) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/.well-known/openid-configuration":
                self.reply(
                    {
                        "issuer": provider.discovery_issuer or provider.issuer,
                        "authorization_endpoint": provider.issuer + "/oauth/v2/authorize",
                        "token_endpoint": provider.issuer + "/oauth/v2/token",
                        "jwks_uri": provider.issuer + "/oauth/v2/keys",
                        **provider.discovery_changes,
                    }
                )
            elif path == "/oauth/v2/keys":
                self.reply(public(*(signing_key(kid) for kid in provider.kids)).as_dict())
            else:
                self.reply({"code": 5, "message": "not found"}, 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(length)
            assert provider.make_token is not None
            token = provider.make_token(provider.claims())
            self.reply({"access_token": "opaque", "token_type": "Bearer", "id_token": token})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def provider(settings: Any) -> Iterator[MintingProvider]:
    made = MintingProvider()
    server = serve(made)
    settings.AIDIAL = replace(
        settings.AIDIAL,
        base_url="http://testserver",
        issuer=made.issuer,
        api_url=made.issuer,
        client_id=CLIENT_ID,
        client_secret="not-used-by-this-provider",
        extra_audiences=frozenset({PROJECT_ID}),
        service_token="",
    )
    yield made
    server.shutdown()
    server.server_close()


def callback(client: Any, provider: MintingProvider) -> Any:
    start = client.post("/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    provider.nonce = client.session[oidc.PENDING_KEY][state]["nonce"]
    return client.get(f"/oidc/callback/?code=any-code&state={state}")


BAD_TOKENS: dict[str, Callable[[dict[str, Any]], str]] = {
    "wrong_issuer": lambda c: mint({**c, "iss": "https://evil.example"}),
    "wrong_audience": lambda c: mint({**c, "aud": [PROJECT_ID]}),
    "untrusted_audience": lambda c: mint({**c, "aud": [CLIENT_ID, "someone-else"]}),
    "wrong_azp": lambda c: mint({**c, "azp": "someone-else"}),
    "missing_claim": lambda c: mint({k: v for k, v in c.items() if k != "exp"}),
    "expired": lambda c: mint({**c, "exp": int(time.time()) - 120}),
    "issued_in_future": lambda c: mint({**c, "iat": int(time.time()) + 600}),
    "nonce_mismatch": lambda c: mint({**c, "nonce": "another-nonce"}),
    "algorithm_not_allowed": lambda c: unsigned({"alg": "none", "kid": "key-1"}, c),
    "unknown_kid": lambda c: mint(c, kid="key-never-published"),
}


@pytest.mark.parametrize("reason", sorted(BAD_TOKENS))
def test_each_bad_id_token_is_refused_with_its_reason(client, provider, reason, caplog):
    provider.make_token = BAD_TOKENS[reason]
    response = callback(client, provider)
    assert response.status_code == 400
    assert b"Sign-in refused" in response.content
    assert f"id_token_{reason}".encode() in response.content
    assert session_state.load(client.session) is None
    event = SecurityEvent.objects.get(event_type="sign_in_rejected")
    assert event.reason == f"id_token_{reason}"
    assert any(getattr(r, "reason", "") == f"id_token_{reason}" for r in caplog.records)


def test_hs256_signed_with_the_public_key_is_refused(client, provider):
    from joserfc.jwk import OctKey

    secret = OctKey.import_key(json.dumps(signing_key("key-1").as_dict(private=False)).encode())
    provider.make_token = lambda c: mint(c, alg="HS256", key=secret)
    response = callback(client, provider)
    assert response.status_code == 400
    assert SecurityEvent.objects.get().reason == "id_token_algorithm_not_allowed"


def test_a_good_token_signed_after_key_rotation_is_accepted(client, provider):
    provider.make_token = lambda c: mint(c, kid="key-1")
    assert callback(client, provider).status_code == 302
    client.post("/logout/")
    provider.kids = ["key-2", "key-1"]  # rotation: the new key signs, the old one stays listed
    provider.make_token = lambda c: mint(c, kid="key-2")
    response = callback(client, provider)
    assert response.status_code == 302
    assert session_state.load(client.session) is not None


def test_discovery_naming_another_issuer_refuses_every_sign_in(client, provider):
    provider.discovery_issuer = "https://not-the-configured-issuer.example"
    response = client.post("/login/")
    assert response.status_code == 503
    assert b"not configured correctly" in response.content
    assert client.get("/readyz").json()["checks"]["provider"] == "issuer_mismatch"


@pytest.mark.parametrize(
    "endpoint", ["token_endpoint", "jwks_uri", "userinfo_endpoint", "end_session_endpoint"]
)
def test_a_provider_endpoint_off_the_issuers_origin_refuses_every_sign_in(
    client, provider, endpoint, caplog
):
    provider.discovery_changes = {endpoint: "https://elsewhere.example.test/collect"}
    response = client.post("/login/")
    assert response.status_code == 503
    assert b"not configured correctly" in response.content
    assert client.get("/readyz").json()["checks"]["provider"] == "endpoint_off_origin"
    logged = [record.getMessage() for record in caplog.records]
    assert any(endpoint in line and "AIDIAL_OIDC_ISSUER" in line for line in logged)


def test_a_plain_http_zitadel_api_off_loopback_refuses_every_sign_in(
    client, provider, settings, caplog
):
    settings.AIDIAL = replace(settings.AIDIAL, api_url="http://zitadel.example.test")
    response = client.post("/login/")
    assert response.status_code == 503
    assert b"not configured correctly" in response.content
    assert client.get("/readyz").json()["checks"]["provider"] == "api_url_untrusted"
    assert any("AIDIAL_ZITADEL_API_URL" in record.getMessage() for record in caplog.records)


def test_check_deploy_reports_what_discovery_lacks_and_an_untrusted_endpoint(provider, settings):
    from django.core import checks

    def deploy_messages():
        return {m.id: m.msg for m in checks.run_checks(include_deployment_checks=True)}

    found = deploy_messages()
    assert "userinfo" in found["aidial.E018"]
    assert "end-session" in found["aidial.W010"]
    provider.discovery_changes = {
        "userinfo_endpoint": provider.issuer + "/oidc/v1/userinfo",
        "end_session_endpoint": "https://elsewhere.example.test/end_session",
    }
    providers.reset()
    found = deploy_messages()
    assert "end_session_endpoint" in found["aidial.E017"]
    assert "AIDIAL_OIDC_ISSUER" in found["aidial.E017"]


def test_check_deploy_warns_until_discovery_advertises_back_channel_logout(provider, settings):
    # Zitadel advertises it only with the instance feature EnableBackChannelLogout on.
    from django.core import checks

    def deploy_messages():
        return {m.id: m.msg for m in checks.run_checks(include_deployment_checks=True)}

    assert "backchannel_logout_supported" in deploy_messages()["aidial.W012"]
    provider.discovery_changes = {"backchannel_logout_supported": True}
    providers.reset()
    assert "aidial.W012" not in deploy_messages()
