"""No token, code, code_verifier, client secret or cookie value in logs, the database or pages."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection

from aidial_portal.identity import oidc, sign_out
from aidial_portal.logs import JsonFormatter
from aidial_portal.sessions.backends.db import SessionStore
from tests.flows.conftest import callback_path
from tests.support.portal import redis_keys_of_this_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.idp]


def every_stored_value() -> str:
    """Every row of every table, as text, and every stored session decoded (Django stores
    them base64-encoded, which would hide a token from a plain text search)."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            dump.extend(repr(row) for row in cursor.fetchall())
    store = SessionStore()
    dump.extend(json.dumps(store.decode(row.session_data)) for row in Session.objects.all())
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        # Sessions (and everything else cached) live in Redis in this configuration.
        dump.extend(json.dumps(cache.get(key), default=str) for key in redis_keys_of_this_run())
    return "\n".join(dump)


def test_full_flows_leave_no_secret_in_logs_database_or_pages(
    client, person, browser, local_idp, wired, registration, issued_tokens, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    tokens = issued_tokens

    secrets: dict[str, str] = {
        "client secret": registration["client_secret"],
        "service token": registration["service_token"],
    }
    pages: list[str] = []

    # A mandatory-role sign-in with TOTP, then a refresh with a recovery code.
    who = person("partner_admin", totp=True)
    totp = local_idp.totp_code(who.totp_secret)
    secrets |= {"password": who.password, "totp code": totp, "totp seed": who.totp_secret}
    start = client.post("/login/")
    pending = next(iter(client.session[oidc.PENDING_KEY].values()))
    secrets |= {"code_verifier": pending["code_verifier"], "nonce": pending["nonce"]}
    final = browser.authorize(start["Location"], who.login, who.password, code=totp)
    secrets["authorization code"] = parse_qs(urlsplit(final).query)["code"][0]
    client.get(callback_path(final))
    pages.append(client.get("/settings/").content.decode())

    recovery = who.recovery_codes[0]
    secrets["recovery code"] = recovery
    start = client.post("/settings/refresh/")
    final = browser.authorize(start["Location"], who.login, who.password, code=recovery)
    path = callback_path(final)
    client.get(path)
    pages.append(client.get(path).content.decode())  # a replayed callback: the error page
    pages.append(client.get("/settings/").content.decode())
    secrets["session cookie"] = client.cookies["aidial_session"].value
    client.post("/settings/recovery-codes/regenerated/")
    client.post("/settings/recovery-codes/acknowledge/")
    # The ID token is kept for the sign-out's hint: sealed, so the stored session (decoded
    # below) does not show it; the sign-out still sends it to the provider.
    stored_while_signed_in = every_stored_value()
    assert sign_out.ID_TOKEN_KEY in stored_while_signed_in
    leaving = client.post("/logout/")["Location"]

    for index, token in enumerate(tokens):
        secrets[f"id token {index}"] = token["id_token"]
        secrets[f"access token {index}"] = token["access_token"]
    assert len(tokens) == 2
    assert parse_qs(urlsplit(leaving).query)["id_token_hint"] == [tokens[-1]["id_token"]]

    formatter = JsonFormatter()
    logs = "\n".join(formatter.format(record) for record in caplog.records)
    logs += "\n".join(record.getMessage() for record in caplog.records)
    out, err = capfd.readouterr()
    logs += out + err
    stored = every_stored_value() + stored_while_signed_in
    assert "security_event" in logs  # the logs were captured at all
    assert "sign_in_succeeded" in stored  # and the tables were read
    for name, value in secrets.items():
        assert value, name
        assert value not in logs, f"{name} appears in the logs"
        assert value not in stored, f"{name} appears in the database"
        for page in pages:
            assert value not in page, f"{name} appears on a page"
