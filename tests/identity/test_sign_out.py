"""Signing out at the provider: the sealed ID token and the sign-out's `state`."""

from __future__ import annotations

from typing import Any

import pytest

from aidial_portal.identity import sign_out


class FakeSession(dict[str, Any]):
    def __init__(self, session_key: str | None) -> None:
        super().__init__()
        self.session_key = session_key

    def save(self) -> None:
        self.session_key = "saved-key"


def test_the_kept_id_token_opens_only_with_its_session_key_and_the_secret() -> None:
    session = FakeSession("cookie-value-1")
    sign_out.keep_id_token(session, "header.payload.signature", secret="s3cret")
    assert "header.payload.signature" not in repr(dict(session))
    assert sign_out._kept_id_token(session, secret="s3cret") == "header.payload.signature"
    assert sign_out._kept_id_token(session, secret="another") == ""
    session.session_key = "cookie-value-2"
    assert sign_out._kept_id_token(session, secret="s3cret") == ""


def test_a_flushed_session_gets_its_key_before_the_token_is_sealed() -> None:
    session = FakeSession(None)
    sign_out.keep_id_token(session, "header.payload.signature", secret="s3cret")
    assert session.session_key == "saved-key"
    assert sign_out._kept_id_token(session, secret="s3cret") == "header.payload.signature"


@pytest.mark.parametrize(
    ("expected", "returned", "confirmed"),
    [("abc", "abc", True), ("abc", "abd", False), ("abc", None, False), (None, "abc", False)],
)
def test_the_sign_out_state_must_come_back_unchanged_and_only_once(
    expected: str | None, returned: str | None, confirmed: bool
) -> None:
    session: dict[str, Any] = {}
    if expected:
        sign_out.remember_sign_out(session, expected)
    assert sign_out.sign_out_confirmed(session, returned) is confirmed
    assert sign_out.sign_out_confirmed(session, returned) is (None if not returned else False)


def test_a_plain_visit_to_the_signed_out_page_is_neither_confirmed_nor_refused() -> None:
    assert sign_out.sign_out_confirmed({}, None) is None
