"""No lifecycle marker or security event ever holds a value shaped like a recovery code, a
TOTP secret, a one-time code or a token, whatever the callers pass in.

The portal's own flows (`change_lifecycle`, `record`) run against the test database with
Hypothesis-made reasons and details, many of them secret-shaped; then every row is scanned.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aidial_portal.accounts.lifecycle import change_lifecycle
from aidial_portal.accounts.models import MARKER_FIELDS, Account, identity_key
from aidial_portal.audit.events import ALL_EVENT_TYPES, EventTag, EventType
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.audit.recording import record
from aidial_portal.mfa.lifecycle import (
    Acknowledged,
    CodesReviewed,
    ManagementLaunched,
    Observed,
    RegenerationDeclared,
    ReviewLaunched,
    SetupLaunched,
)

pytestmark = pytest.mark.django_db

SECRET_SHAPES = {
    "recovery code": re.compile(r"[A-Z0-9]{5}-[A-Z0-9]{5}"),
    "TOTP secret": re.compile(r"(?<![A-Za-z2-7])[A-Za-z2-7]{16,}(?![A-Za-z2-7])"),
    "one-time code": re.compile(r"(?<!\d)\d{6,8}(?!\d)"),
    "JWT": re.compile(r"eyJ[\w-]+\.[\w-]+"),
    "long random token": re.compile(r"[A-Za-z0-9_-]{32,}"),
}
_URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

recovery_codes = st.from_regex(r"[A-Z0-9]{5}-[A-Z0-9]{5}", fullmatch=True)
totp_secrets = st.from_regex(r"[A-Z2-7]{16,32}", fullmatch=True)
one_time_codes = st.from_regex(r"[0-9]{6,8}", fullmatch=True)
jwts = st.builds(
    lambda header, body, signature: f"eyJ{header}.eyJ{body}.{signature}",
    *(st.text(_URLSAFE, min_size=8, max_size=40) for _ in range(3)),
)
# Like secrets.token_urlsafe(): mixed case. All-lowercase tokens are the case below.
long_tokens = st.from_regex(r"[A-Za-z0-9_-]{24,60}", fullmatch=True).filter(
    lambda token: any(c.isupper() or c == "-" for c in token)
)
secret_shaped = st.one_of(recovery_codes, totp_secrets, one_time_codes, jwts, long_tokens)
harmless_tags = st.from_regex(
    r"[a-z]{1,8}(_[a-z]{1,8}){0,2}", fullmatch=True
)  # real tags are short
detail_keys = st.one_of(harmless_tags, secret_shaped)
detail_values = st.one_of(st.none(), st.booleans(), harmless_tags, secret_shaped)
details = st.dictionaries(detail_keys, detail_values, max_size=6)
reasons = st.one_of(st.just(""), harmless_tags, secret_shaped)
lifecycle_steps = st.lists(
    st.one_of(
        st.builds(
            lambda enrolled, used: ("observed", enrolled, used),
            st.sampled_from([True, False, None]),
            st.booleans(),
        ),
        st.sampled_from(
            [
                ("acknowledged",),
                ("reviewed",),
                ("regenerated",),
                ("setup",),
                ("review",),
                ("launched",),
            ]
        ),
    ),
    max_size=8,
)

_subjects = itertools.count(1)
START = datetime(2026, 1, 1, tzinfo=UTC)


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def assert_nothing_secret(values: Any, secrets: list[str], where: str) -> None:
    for text in strings_in(values):
        for shape, pattern in SECRET_SHAPES.items():
            assert not pattern.search(text), f"{where} holds a {shape}: {text!r}"
        for secret in secrets:
            assert secret not in text, f"{where} holds a value the caller passed: {text!r}"


def new_account() -> Account:
    sub = f"subject-{next(_subjects)}"
    issuer = "http://127.0.0.1:8080"
    return Account.objects.create(
        identity_key=identity_key(issuer, sub),
        issuer=issuer,
        subject=sub,
        login_name=f"{sub}@example.test",
        roles=["partner_admin"],
    )


def scan_rows(account: Account, secrets: list[str], session_key: str) -> None:
    markers = Account.objects.filter(pk=account.pk).values(*MARKER_FIELDS).get()
    assert_nothing_secret(markers, secrets, "a lifecycle marker")
    for name, value in markers.items():
        assert value is None or isinstance(value, bool | datetime) or name == "ack_pending"
    for event in SecurityEvent.objects.filter(account=account).values():
        assert_nothing_secret(
            {k: v for k, v in event.items() if k != "session_hash"}, secrets, "a security event"
        )
        # The session is named only by a keyed hash, never by its key.
        assert event["session_hash"] != session_key
        assert re.fullmatch(r"[0-9a-f]{32}", event["session_hash"])


SIMPLE_INPUTS = {
    "acknowledged": Acknowledged,
    "reviewed": CodesReviewed,
    "regenerated": RegenerationDeclared,
    "setup": SetupLaunched,
    "review": ReviewLaunched,
    "launched": ManagementLaunched,
}


def as_input(step: tuple[Any, ...], at: datetime) -> Any:
    if step[0] == "observed":
        _, enrolled, used = step
        return Observed(at=at, enrolled=enrolled, used_recovery_code=used)
    return SIMPLE_INPUTS[step[0]](at=at)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=lifecycle_steps,
    recorded=st.lists(
        st.tuples(st.sampled_from(ALL_EVENT_TYPES), reasons, details), min_size=1, max_size=5
    ),
    session_key=long_tokens,
)
def test_markers_and_events_never_hold_secret_shaped_values(
    steps: list[tuple[Any, ...]],
    recorded: list[tuple[EventType, str, dict[str, Any]]],
    session_key: str,
) -> None:
    account = new_account()
    request = SimpleNamespace(session=SimpleNamespace(session_key=session_key))
    for number, step in enumerate(steps):
        change_lifecycle(request, account.pk, as_input(step, START + timedelta(minutes=number)))  # type: ignore[arg-type]
    for event_type, reason, extra in recorded:
        record(event_type, account=account, session_key=session_key, reason=reason, details=extra)
    secrets = [session_key] + [
        text
        for _, reason, extra in recorded
        for text in [reason, *strings_in(extra)]
        if any(p.search(text) for p in SECRET_SHAPES.values())
    ]
    scan_rows(account, secrets, session_key)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    token=st.one_of(
        st.from_regex(r"[a-z][a-z0-9]{31,47}", fullmatch=True),
        st.from_regex(r"[a-z2-7]{16,32}", fullmatch=True).filter(lambda t: t[0].isalpha()),
    )
)
def test_lowercase_tokens_are_not_kept_as_tags(token: str) -> None:
    account = new_account()
    session_key = "Session-Key-Of-The-Test-0123456789"
    record(
        EventTag.SignIn.SIGNED_OUT,
        account=account,
        session_key=session_key,
        reason=token,
        details={"value": token},
    )
    scan_rows(account, [token], session_key)
