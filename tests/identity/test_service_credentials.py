"""Service-user credentials: a personal access token, or a key file through the JWT profile grant.

A fake token endpoint and a fake Zitadel API answer on loopback over real HTTP.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.views.debug import ExceptionReporter
from joserfc import jwt
from joserfc.jwk import RSAKey

from aidial_portal.identity import http as shared_http
from aidial_portal.identity import providers
from aidial_portal.identity.service_credentials import (
    JWT_BEARER_GRANT,
    CredentialsUnavailable,
    JwtProfileCredentials,
    KeyFileError,
    ServiceKey,
    load_service_key,
)
from aidial_portal.identity.zitadel import ZitadelEvidenceReader
from aidial_portal.mfa.evidence import Factor, unavailable

from .fake_zitadel import SESSION_ID, USER_ID, VERIFIED_AT, methods, session

ISSUER = "http://127.0.0.1:1"  # only named in the assertion's `aud`
SERVICE_USER = "298765432109876543"
KEY_ID = "298765432109876999"
PRIVATE_KEY = RSAKey.generate_key(2048, private=True)
PEM = PRIVATE_KEY.as_pem(private=True).decode()
# A line from the middle of the PEM: present wherever the key leaked.
KEY_LINE = PEM.splitlines()[5]
SESSION_PATH = f"/v2/sessions/{SESSION_ID}"
METHODS_PATH = f"/v2/users/{USER_ID}/authentication_methods"


@dataclass
class FakeProvider:
    """A token endpoint and the two API paths, counting what it is asked."""

    token_status: int = 200
    expires_in: int = 43199
    grants: list[dict[str, str]] = field(default_factory=list, repr=False)
    api_calls: list[tuple[str, str | None]] = field(default_factory=list)
    # Access tokens the API accepts; each grant issues the next `access-N`.
    accepted: set[str] = field(default_factory=set)
    accept_new_tokens: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.grants.append(form)
            token = f"access-{len(self.grants)}"
            if self.accept_new_tokens:
                self.accepted.add(token)
        if self.token_status != 200:
            return self.token_status, {"error": "invalid_grant"}
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}

    def api(self, path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.api_calls.append((path, authorization))
        token = (authorization or "").removeprefix("Bearer ")
        if token not in self.accepted:
            return 401, {"code": 16, "message": "Errors.Token.Invalid"}
        if path == SESSION_PATH:
            return 200, session(totp={"verifiedAt": VERIFIED_AT})
        return 200, methods("PASSWORD", "TOTP")


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self._send(*self.server.provider.grant(form))

    def do_GET(self) -> None:
        self._send(*self.server.provider.api(self.path, self.headers.get("Authorization")))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.provider = fake  # type: ignore[attr-defined]
    host, port = server.server_address[:2]
    fake.url = f"http://{host!s}:{port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "service-user.json"
    document = {"type": "serviceaccount", "keyId": KEY_ID, "key": PEM, "userId": SERVICE_USER}
    path.write_text(json.dumps(document))
    path.chmod(0o600)
    return path


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def credentials_for(provider: FakeProvider, clock: Clock | None = None) -> JwtProfileCredentials:
    key = ServiceKey(key_id=KEY_ID, user_id=SERVICE_USER, private_key=PRIVATE_KEY)
    return JwtProfileCredentials(
        key,
        issuer=ISSUER,
        token_endpoint=lambda: provider.url + "/oauth/v2/token",
        clock=clock or Clock(),
    )


def read_evidence(reader: ZitadelEvidenceReader) -> Any:
    return reader.read(sid=SESSION_ID, sub=USER_ID, amr=["pwd", "otp", "mfa"])


# -- the grant ---------------------------------------------------------------------------------


def test_the_grant_sends_an_assertion_zitadel_accepts(provider: FakeProvider) -> None:
    clock = Clock()
    header = credentials_for(provider, clock).authorization()

    assert header == "Bearer access-1"
    (form,) = provider.grants
    assert form["grant_type"] == JWT_BEARER_GRANT
    assert form["scope"] == "openid urn:zitadel:iam:org:project:id:zitadel:aud"
    token = jwt.decode(form["assertion"], PRIVATE_KEY, algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    assert token.header["kid"] == KEY_ID
    assert token.claims["iss"] == token.claims["sub"] == SERVICE_USER
    assert token.claims["aud"] == ISSUER
    assert token.claims["iat"] == int(clock.now)
    assert 0 < token.claims["exp"] - token.claims["iat"] <= 60


def test_many_sign_ins_share_one_grant(provider: FakeProvider) -> None:
    credentials = credentials_for(provider)
    headers: list[str | None] = []
    start = threading.Barrier(8)

    def sign_in() -> None:
        start.wait(timeout=10)
        headers.extend(credentials.authorization() for _ in range(5))

    threads = [threading.Thread(target=sign_in) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert headers == ["Bearer access-1"] * 40
    assert len(provider.grants) == 1


def test_the_token_is_renewed_shortly_before_it_expires(provider: FakeProvider) -> None:
    provider.expires_in = 3600
    clock = Clock()
    credentials = credentials_for(provider, clock)
    credentials.authorization()

    clock.now += 3600 - 61
    assert credentials.authorization() == "Bearer access-1"
    clock.now += 1
    assert credentials.authorization() == "Bearer access-2"
    assert len(provider.grants) == 2


@pytest.mark.parametrize(
    ("status", "reason"), [(400, "provider_unauthorised"), (503, "provider_error")]
)
def test_a_refused_grant_gives_a_reason_and_no_token(
    provider: FakeProvider, status: int, reason: str
) -> None:
    provider.token_status = status
    with pytest.raises(CredentialsUnavailable) as raised:
        credentials_for(provider).authorization()
    assert raised.value.reason == reason


def test_the_grant_goes_through_the_process_client_for_the_token_endpoint(
    provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    client_for = shared_http.client_for

    def recording(url: str) -> httpx.Client:
        asked.append(url)
        return client_for(url)

    monkeypatch.setattr(shared_http, "client_for", recording)
    credentials = credentials_for(provider)

    assert credentials.authorization() == "Bearer access-1"
    credentials.close()
    assert asked == [provider.url + "/oauth/v2/token"]
    assert not client_for(provider.url).is_closed


def test_a_token_endpoint_that_is_not_a_url_is_malformed_not_a_crash() -> None:
    credentials = JwtProfileCredentials(
        ServiceKey(key_id=KEY_ID, user_id=SERVICE_USER, private_key=PRIVATE_KEY),
        issuer=ISSUER,
        token_endpoint=lambda: "oauth/v2/token",
    )
    with pytest.raises(CredentialsUnavailable) as raised:
        credentials.authorization()
    assert raised.value.reason == "provider_malformed"


def test_an_unreachable_token_endpoint_is_unreachable_not_a_crash() -> None:
    credentials = JwtProfileCredentials(
        ServiceKey(key_id=KEY_ID, user_id=SERVICE_USER, private_key=PRIVATE_KEY),
        issuer=ISSUER,
        token_endpoint=lambda: "http://127.0.0.1:9/oauth/v2/token",
    )
    with pytest.raises(CredentialsUnavailable) as raised:
        credentials.authorization()
    assert raised.value.reason == "provider_unreachable"


# -- the evidence client with a key file --------------------------------------------------------


def test_evidence_is_read_with_the_granted_token(provider: FakeProvider) -> None:
    reader = ZitadelEvidenceReader(provider.url, credentials_for(provider))

    evidence = read_evidence(reader)

    assert Factor.TOTP in evidence.verified
    assert {authorization for _, authorization in provider.api_calls} == {"Bearer access-1"}
    read_evidence(reader)
    assert len(provider.grants) == 1


def test_a_revoked_token_is_renewed_once_on_a_401(provider: FakeProvider) -> None:
    reader = ZitadelEvidenceReader(provider.url, credentials_for(provider), concurrent=False)
    read_evidence(reader)
    provider.accepted.clear()  # the provider revoked access-1

    evidence = read_evidence(reader)

    assert Factor.TOTP in evidence.verified
    assert len(provider.grants) == 2
    assert provider.api_calls[-1][1] == "Bearer access-2"


def test_a_token_refused_again_after_renewal_is_unauthorised(provider: FakeProvider) -> None:
    provider.accept_new_tokens = False
    reader = ZitadelEvidenceReader(provider.url, credentials_for(provider), concurrent=False)

    assert read_evidence(reader) == unavailable("provider_unauthorised")
    # One grant, a 401, one renewal, a 401 again: no second renewal, no loop.
    assert len(provider.grants) == 2
    assert provider.api_calls == [
        (SESSION_PATH, "Bearer access-1"),
        (SESSION_PATH, "Bearer access-2"),
        (METHODS_PATH, "Bearer access-2"),
    ]


def test_a_refused_grant_makes_evidence_unavailable_and_logs_no_key(
    provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    provider.token_status = 400
    reader = ZitadelEvidenceReader(provider.url, credentials_for(provider))

    with caplog.at_level(logging.DEBUG):
        assert read_evidence(reader) == unavailable("provider_unauthorised")

    assert provider.api_calls == []
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert KEY_LINE not in logged
    assert provider.grants[0]["assertion"] not in logged


# -- the key file ------------------------------------------------------------------------------


def test_a_key_file_is_read(key_file: Path) -> None:
    key = load_service_key(key_file)
    assert (key.key_id, key.user_id) == (KEY_ID, SERVICE_USER)
    assert KEY_LINE not in repr(key)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json " + PEM, "is not JSON"),
        (json.dumps({"type": "application", "keyId": KEY_ID, "key": PEM}), "serviceaccount"),
        (json.dumps({"type": "serviceaccount", "key": PEM, "userId": "1"}), "'keyId'"),
        (json.dumps({"type": "serviceaccount", "keyId": "1", "key": PEM}), "'userId'"),
        (
            json.dumps({"type": "serviceaccount", "keyId": "1", "userId": "1", "key": PEM[:400]}),
            "not an RSA private key",
        ),
        (
            json.dumps(
                {
                    "type": "serviceaccount",
                    "keyId": "1",
                    "userId": "1",
                    "key": PRIVATE_KEY.as_pem(private=False).decode(),
                }
            ),
            "not an RSA private key",
        ),
    ],
)
def test_a_malformed_key_file_is_refused_naming_the_variable_not_the_key(
    tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "key.json"
    path.write_text(content)
    with pytest.raises(KeyFileError) as raised:
        load_service_key(path)
    message = str(raised.value)
    assert message.startswith("AIDIAL_ZITADEL_SERVICE_KEY_FILE")
    assert says in message
    assert KEY_LINE not in message
    assert "BEGIN" not in message


def test_a_missing_key_file_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="AIDIAL_ZITADEL_SERVICE_KEY_FILE: cannot read"):
        load_service_key(tmp_path / "absent.json")


def _check_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aidial_portal.cli", "check"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_malformed_key_file_stops_start_up_without_printing_the_key(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"type": "serviceaccount", "keyId": "1", "key": PEM}))

    result = _check_with({"AIDIAL_ZITADEL_SERVICE_KEY_FILE": str(path)})

    assert result.returncode != 0
    assert "AIDIAL_ZITADEL_SERVICE_KEY_FILE" in result.stderr
    assert "has no 'userId'" in result.stderr
    assert KEY_LINE not in result.stdout + result.stderr


def test_a_bad_key_file_is_refused_when_the_services_are_built(
    settings: Any, tmp_path: Path
) -> None:
    settings.AIDIAL = replace(settings.AIDIAL, service_key_file=str(tmp_path / "absent.json"))
    with pytest.raises(ImproperlyConfigured, match="AIDIAL_ZITADEL_SERVICE_KEY_FILE"):
        providers.service_credentials()


def test_a_token_and_a_key_file_together_stop_start_up(settings: Any, key_file: Path) -> None:
    settings.AIDIAL = replace(
        settings.AIDIAL, service_token="pat-value", service_key_file=str(key_file)
    )
    found = {message.id: message.msg for message in checks.run_checks()}
    assert "AIDIAL_ZITADEL_SERVICE_TOKEN" in found["aidial.E030"]
    assert "AIDIAL_ZITADEL_SERVICE_KEY_FILE" in found["aidial.E030"]


def test_the_key_and_assertion_stay_out_of_error_reports(
    settings: Any, key_file: Path, provider: FakeProvider
) -> None:
    """A failure inside the grant, as Django reports it (every frame's local variables)."""
    settings.DEBUG = False
    settings.AIDIAL = replace(settings.AIDIAL, service_key_file=str(key_file))
    provider.token_status = 400
    credentials = credentials_for(provider)
    request = RequestFactory().get("/")
    try:
        credentials.authorization()
    except CredentialsUnavailable:
        reporter = ExceptionReporter(request, *sys.exc_info())
        report = reporter.get_traceback_html() + reporter.get_traceback_text()
    assert "CredentialsUnavailable" in report
    assert KEY_LINE not in report
    assert provider.grants[0]["assertion"] not in report
    assert KEY_LINE not in repr(providers.service_credentials())
    assert KEY_LINE not in repr(settings.AIDIAL)
