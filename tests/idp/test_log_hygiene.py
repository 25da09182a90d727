"""No password, code, token or secret ever reaches the provider's log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.idp.conftest import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty
from tests.support.idp import HostedLogin, HostedLoginError, LocalIdp, start_local_idp


@pytest.fixture(scope="module")
def own_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIdp]:
    idp = start_local_idp(tmp_path_factory.mktemp("idp-logs"))
    try:
        yield idp
    finally:
        idp.stop()


def test_server_log_holds_no_secrets_after_a_full_journey(
    own_idp: LocalIdp, tmp_path: Path
) -> None:
    client = own_idp.add_client(REDIRECT_URI, post_logout_uri=POST_LOGOUT_URI)
    rp = RelyingParty(own_idp, client["client_id"], client["client_secret"], client["project_id"])
    password = "Very-secret-passw0rd!"
    user = own_idp.add_user("logged@example.test", password, ["partner_admin"], totp=True)
    token = own_idp.service_token()
    secrets: list[str] = [password, client["client_secret"], token, user["totp_secret"]]

    with HostedLogin(own_idp) as browser:
        with pytest.raises(HostedLoginError):
            browser.authorize(rp.authorization().url, user["login"], "Wrong-passw0rd-typed!")
        secrets.append("Wrong-passw0rd-typed!")
        totp = own_idp.totp_code(user["totp_secret"])
        request = rp.authorization()
        location = browser.authorize(request.url, user["login"], password, code=totp)
        secrets += [totp, request.verifier, location.split("code=")[1].split("&")[0]]
        tokens = rp.exchange(location, verifier=request.verifier).json()
        secrets += [tokens["access_token"], tokens["id_token"]]
        httpx.get(
            own_idp.url("/oidc/v1/userinfo"),
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=10,
        )
        recovery = user["recovery_codes"][0]
        secrets.append(recovery)
        rp.sign_in(browser, user["login"], password, code=recovery, prompt="login")
        fresh = browser.regenerate_recovery_codes()
        secrets += fresh
        browser.client.get(
            own_idp.url("/oidc/v1/end_session"),
            params={
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": POST_LOGOUT_URI,
            },
        )
    httpx.get(
        own_idp.url("/v2/sessions/1"), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    httpx.get(
        own_idp.url("/v2/sessions/1"), headers={"Authorization": "Bearer guessed"}, timeout=10
    )

    log = own_idp.log_text()
    assert "/oauth/v2/token" in log  # the log is captured at all
    leaked = [s for s in secrets if s and s in log]
    assert leaked == []
