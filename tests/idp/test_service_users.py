"""Service users: Zitadel's key file and the JWT profile grant."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.idp import sdk_contract
from tests.support.idp import REPO_ROOT, LocalIdp

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API_SCOPE = "openid urn:zitadel:iam:org:project:id:zitadel:aud"


@pytest.fixture(scope="module")
def key_file(local_idp: LocalIdp) -> dict[str, Any]:
    made = local_idp.service_key()
    return {**made, "json": json.loads(Path(made["path"]).read_text())}


def assertion(
    idp: LocalIdp,
    key: dict[str, Any],
    *,
    kid: str | None = None,
    signing_key: RSAKey | None = None,
    **changes: Any,
) -> str:
    """What the SDK sends: RS256, kid = key id, iss = sub = user id, aud = issuer."""
    now = int(time.time())
    claims = {
        "iss": key["userId"],
        "sub": key["userId"],
        "aud": idp.issuer,
        "iat": now,
        "exp": now + 600,
        **changes,
    }
    header = {"alg": "RS256", "kid": kid or key["keyId"]}
    return jwt.encode(header, claims, signing_key or RSAKey.import_key(key["key"]))


def grant(idp: LocalIdp, assertion_value: str | None, scope: str = API_SCOPE) -> httpx.Response:
    data = {"grant_type": JWT_BEARER, "scope": scope}
    if assertion_value is not None:
        data["assertion"] = assertion_value
    return httpx.post(idp.url("/oauth/v2/token"), data=data, timeout=10)


def test_service_key_writes_zitadels_key_file_privately_and_prints_no_key(
    local_idp: LocalIdp, tmp_path: Path
) -> None:
    out = tmp_path / "portal-key.json"
    done = subprocess.run(
        [sys.executable, "-m", "local_idp", "service-key", "--out", str(out)],
        cwd=REPO_ROOT,
        env=local_idp.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    printed = json.loads(done.stdout)
    content = json.loads(out.read_text())
    assert printed["path"] == str(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert content["type"] == "serviceaccount"
    assert content["keyId"] == printed["key_id"]
    assert content["userId"] == printed["user_id"]
    assert content["key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert "PRIVATE KEY" not in done.stdout + done.stderr


def test_the_jwt_profile_grant_gives_a_token_the_zitadel_api_accepts(
    local_idp: LocalIdp, key_file: dict[str, Any], password_user
) -> None:
    response = grant(local_idp, assertion(local_idp, key_file["json"]))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] > 3600
    assert response.headers["Cache-Control"] == "no-store"
    methods = httpx.get(
        local_idp.url(f"/v2/users/{password_user['user_id']}/authentication_methods"),
        headers={"Authorization": f"Bearer {answer['access_token']}"},
        timeout=10,
    )
    assert methods.status_code == 200
    sdk_contract.check_response(methods)
    assert methods.json()["authMethodTypes"] == ["AUTHENTICATION_METHOD_TYPE_PASSWORD"]


def test_without_the_zitadel_audience_scope_the_token_cannot_call_the_api(
    local_idp: LocalIdp, key_file: dict[str, Any], password_user
) -> None:
    response = grant(local_idp, assertion(local_idp, key_file["json"]), scope="openid")

    assert response.status_code == 200
    refused = httpx.get(
        local_idp.url(f"/v2/users/{password_user['user_id']}/authentication_methods"),
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        timeout=10,
    )
    assert refused.status_code == 401


def test_the_token_is_never_written_to_the_server_log(
    local_idp: LocalIdp, key_file: dict[str, Any]
) -> None:
    answer = grant(local_idp, assertion(local_idp, key_file["json"])).json()

    log = local_idp.log_text()
    assert "/oauth/v2/token" in log  # the log is captured at all
    assert answer["access_token"] not in log
    assert key_file["json"]["key"].splitlines()[1] not in log


@pytest.mark.parametrize(
    ("case", "expected_error"),
    [
        ("signed with another key", "invalid_grant"),
        ("unknown kid", "invalid_grant"),
        ("iss is not sub", "invalid_grant"),
        ("audience is not the issuer", "invalid_grant"),
        ("expired", "invalid_grant"),
        ("issued in the future", "invalid_grant"),
        ("not a jwt", "invalid_grant"),
        ("no assertion", "invalid_request"),
    ],
)
def test_a_bad_assertion_is_refused_with_an_oauth_error(
    case: str, expected_error: str, local_idp: LocalIdp, key_file: dict[str, Any]
) -> None:
    key = key_file["json"]
    now = int(time.time())
    bad: dict[str, str | None] = {
        "signed with another key": assertion(local_idp, key, signing_key=RSAKey.generate_key(2048)),
        "unknown kid": assertion(local_idp, key, kid="123456789012345678"),
        "iss is not sub": assertion(local_idp, key, iss="someone-else"),
        "audience is not the issuer": assertion(local_idp, key, aud="https://elsewhere.test"),
        "expired": assertion(local_idp, key, iat=now - 1200, exp=now - 600),
        "issued in the future": assertion(local_idp, key, iat=now + 600, exp=now + 900),
        "not a jwt": "not-a-jwt",
        "no assertion": None,
    }

    response = grant(local_idp, bad[case])

    assert response.status_code == 400
    assert response.json()["error"] == expected_error
    assert response.json()["error_description"]
    assert "access_token" not in response.json()
