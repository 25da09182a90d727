"""The Zitadel API subset answers only to a personal access token, with Zitadel's errors."""

from __future__ import annotations

import httpx
import pytest

from tests.support.idp import LocalIdp


@pytest.mark.parametrize(
    "path",
    ["/v2/sessions/123456789012345678", "/v2/users/123456789012345678/authentication_methods"],
)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_api_without_a_valid_token_answers_401_json(
    local_idp: LocalIdp, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = httpx.get(local_idp.url(path), headers=headers, timeout=10)

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == 16
    assert body["message"]


def test_unknown_session_answers_404_json(api: httpx.Client) -> None:
    response = api.get("/v2/sessions/999999999999999999")

    assert response.status_code == 404
    assert response.json()["code"] == 5


def test_unknown_user_answers_404_json(api: httpx.Client) -> None:
    response = api.get("/v2/users/999999999999999999/authentication_methods")

    assert response.status_code == 404
    assert response.json()["code"] == 5


def test_a_wrong_method_answers_405_json(api: httpx.Client) -> None:
    response = api.post("/v2/sessions/999999999999999999")

    assert response.status_code == 405
    assert response.json()["code"] == 12
    assert response.headers["allow"] == "GET, HEAD"


def test_unknown_api_path_answers_json_not_html(api: httpx.Client) -> None:
    response = api.get("/v2/nothing/here")

    assert response.status_code == 404
    assert response.json()["code"] == 5


def test_personal_access_tokens_are_stored_hashed(local_idp: LocalIdp, service_token: str) -> None:
    database = (local_idp.data_dir / "idp.sqlite3").read_bytes()

    assert service_token.encode() not in database


def test_an_expired_session_answers_200_with_its_past_expiration_date(
    local_idp: LocalIdp, api: httpx.Client, make_user, hosted_login
) -> None:
    import sqlite3
    from datetime import UTC, datetime

    from tests.idp.conftest import REDIRECT_URI, RelyingParty

    client = local_idp.add_client(REDIRECT_URI)
    rp = RelyingParty(local_idp, client["client_id"], client["client_secret"], client["project_id"])
    sid = rp.sign_in(hosted_login, make_user()["login"]).claims["sid"]
    # The session's lifetime runs out (the provider's own clock is not ours to move).
    with sqlite3.connect(local_idp.data_dir / "idp.sqlite3") as database:
        database.execute(
            "UPDATE local_idp_idpsession SET expires_at = ? WHERE id = ?",
            ("2020-01-01 00:00:00", sid),
        )

    response = api.get(f"/v2/sessions/{sid}")

    assert response.status_code == 200
    expires = response.json()["session"]["expirationDate"]
    assert datetime.fromisoformat(expires) < datetime.now(UTC)
