"""MFA evidence from Zitadel, read over real HTTP from a canned server on loopback."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from aidial_portal.identity.zitadel import (
    EvidenceReader,
    ZitadelEvidenceReader,
)
from aidial_portal.mfa.evidence import Evidence, Factor, Source, unavailable
from tests.support.doubles import StaticEvidenceReader

from .fake_zitadel import (
    SERVICE_TOKEN,
    SESSION_ID,
    USER_ID,
    VERIFIED_AT,
    FakeZitadel,
    Reply,
    methods,
    session,
)
from .provider import Clock

SESSION_PATH = f"/v2/sessions/{SESSION_ID}"
METHODS_PATH = f"/v2/users/{USER_ID}/authentication_methods"
CHECKED = datetime(2025, 6, 15, 10, 0, 5, 123456, tzinfo=UTC)
AUTH_TIME = datetime(2025, 6, 15, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def zitadel() -> Iterator[FakeZitadel]:
    server = FakeZitadel()
    yield server
    server.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def reader_for(url: str, sleeps: list[float], **options: Any) -> ZitadelEvidenceReader:
    values: dict[str, Any] = {"sleep": sleeps.append, **options}
    return ZitadelEvidenceReader(url, SERVICE_TOKEN, **values)


@pytest.fixture
def reader(zitadel: FakeZitadel, sleeps: list[float]) -> Iterator[ZitadelEvidenceReader]:
    instance = reader_for(zitadel.url, sleeps)
    yield instance
    instance.close()


def read(reader: EvidenceReader, **changes: Any) -> Evidence:
    values: dict[str, Any] = {"sid": SESSION_ID, "sub": USER_ID, "amr": ["pwd", "otp", "mfa"]}
    values.update(changes)
    return reader.read(**values)


# -- session mode: what is recognised --------------------------------------------------------


def test_totp_sign_in_is_recognised_from_session_state(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body=session(totp={"verifiedAt": VERIFIED_AT})))
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", "TOTP")))

    evidence = read(reader)

    assert evidence == Evidence(
        source=Source.SESSION,
        totp_enrolled=True,
        recovery_codes_present=False,
        verified={Factor.TOTP: CHECKED},
    )
    assert evidence.reminders_supported


def test_recovery_code_sign_in_is_told_apart_from_totp(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body=session(recoveryCode={"verifiedAt": VERIFIED_AT})))
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", "TOTP", "RECOVERY_CODE")))

    evidence = read(reader)

    assert evidence.verified == {Factor.RECOVERY_CODE: CHECKED}
    assert evidence.used_recovery_code
    assert evidence.totp_enrolled is True
    assert evidence.recovery_codes_present is True


def test_latest_of_totp_and_recovery_code_is_the_recognised_factor(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    zitadel.reply(
        SESSION_PATH,
        Reply(
            body=session(
                totp={"verifiedAt": "2025-06-15T09:00:00Z"},
                recoveryCode={"verifiedAt": "2025-06-15T12:00:00+02:00"},
            )
        ),
    )
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP", "RECOVERY_CODE")))

    evidence = read(reader)

    assert evidence.recognised_factor is Factor.RECOVERY_CODE
    assert evidence.verified_at == datetime(2025, 6, 15, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("factor", ["otpSms", "otpEmail", "webAuthN", "intent"])
def test_other_second_factors_are_not_recognised(
    factor: str, zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    details: dict[str, Any] = {"verifiedAt": VERIFIED_AT}
    if factor == "webAuthN":
        details["userVerified"] = True
    zitadel.reply(SESSION_PATH, Reply(body=session(**{factor: details})))
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", "OTP_SMS", "OTP_EMAIL", "U2F")))

    evidence = read(reader)

    assert evidence.verified == {}
    assert evidence.unavailable is None
    assert evidence.totp_enrolled is False
    assert evidence.recovery_codes_present is False


def test_user_without_any_second_factor_has_no_enrolment(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body=session()))
    zitadel.reply(METHODS_PATH, Reply(body=methods()))

    evidence = read(reader, amr=["pwd"])

    assert evidence == Evidence(Source.SESSION, totp_enrolled=False, recovery_codes_present=False)


def test_session_without_a_user_factor_is_not_evidence(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    body = session(totp={"verifiedAt": VERIFIED_AT})
    del body["session"]["factors"]["user"]
    zitadel.reply(SESSION_PATH, Reply(body=body))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))

    assert read(reader) == unavailable("session_user_missing")


def test_session_whose_user_factor_has_no_id_is_not_evidence(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    body = session(totp={"verifiedAt": VERIFIED_AT})
    del body["session"]["factors"]["user"]["id"]
    zitadel.reply(SESSION_PATH, Reply(body=body))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))

    assert read(reader) == unavailable("session_user_missing")


def test_session_without_factors_is_not_evidence(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body={"session": {"id": SESSION_ID}}))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))

    assert read(reader) == unavailable("session_user_missing")


def test_both_calls_carry_the_service_token(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body=session()))
    zitadel.reply(METHODS_PATH, Reply(body=methods()))

    read(reader)

    assert sorted(zitadel.requests) == sorted(
        [(SESSION_PATH, f"Bearer {SERVICE_TOKEN}"), (METHODS_PATH, f"Bearer {SERVICE_TOKEN}")]
    )


def test_the_two_calls_run_concurrently(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    # Each handler waits for the other request to arrive: sequential calls would never meet.
    zitadel.barrier = threading.Barrier(2, timeout=5)
    zitadel.reply(SESSION_PATH, Reply(body=session(totp={"verifiedAt": VERIFIED_AT})))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))

    evidence = read(reader)

    assert evidence.unavailable is None
    assert evidence.verified == {Factor.TOTP: CHECKED}


def test_sequential_reading_gives_the_same_evidence(
    zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body=session(totp={"verifiedAt": VERIFIED_AT})))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))

    evidence = read(reader_for(zitadel.url, sleeps, concurrent=False))

    assert evidence.verified == {Factor.TOTP: CHECKED}
    assert [path for path, _ in zitadel.requests] == [SESSION_PATH, METHODS_PATH]


# -- session mode: what cannot be read -------------------------------------------------------


@pytest.mark.parametrize("sid", [None, "", "V1_312044223372036111", "../users/1", "a/b", "x" * 129])
def test_session_that_cannot_be_read_back_is_unavailable_without_a_call(
    sid: str | None, zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    assert read(reader, sid=sid) == unavailable("session_not_readable")
    assert zitadel.requests == []


@pytest.mark.parametrize("sub", ["", "../../admin", "1 2"])
def test_subject_that_is_not_an_id_is_unavailable_without_a_call(
    sub: str, zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    assert read(reader, sub=sub) == unavailable("invalid_subject")
    assert zitadel.requests == []


def test_session_mode_without_a_service_token_is_unavailable(zitadel: FakeZitadel) -> None:
    reader = ZitadelEvidenceReader(zitadel.url, "")
    assert read(reader) == unavailable("provider_unconfigured")
    assert zitadel.requests == []


def test_session_of_another_user_is_unavailable(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    body = session(totp={"verifiedAt": VERIFIED_AT})
    body["session"]["factors"]["user"]["id"] = "312044223372036888"
    zitadel.reply(SESSION_PATH, Reply(body=body))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))

    assert read(reader) == unavailable("session_user_mismatch")


def test_server_error_then_success_is_retried(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader, sleeps: list[float]
) -> None:
    zitadel.reply(
        SESSION_PATH,
        Reply(503, {"message": "unavailable"}),
        Reply(body=session(totp={"verifiedAt": VERIFIED_AT})),
    )
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))

    evidence = read(reader)

    assert evidence.verified == {Factor.TOTP: CHECKED}
    assert zitadel.count(SESSION_PATH) == 2
    assert sleeps == [0.1]


def test_lasting_server_error_is_unavailable_after_the_retries(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader, sleeps: list[float]
) -> None:
    zitadel.reply(SESSION_PATH, Reply(500, {"message": "internal"}))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))

    assert read(reader) == unavailable("provider_error")
    assert zitadel.count(SESSION_PATH) == 3
    assert sleeps == [0.1, 0.2]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (401, "provider_unauthorised"),
        (403, "provider_unauthorised"),
        (404, "provider_not_found"),
        (400, "provider_error"),
        (302, "provider_error"),
        (429, "provider_error"),
    ],
)
def test_client_errors_are_not_retried(
    status: int,
    reason: str,
    zitadel: FakeZitadel,
    reader: ZitadelEvidenceReader,
    sleeps: list[float],
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body=session()))
    # Zitadel's own error body: gRPC NOT_FOUND (5) for a 404, UNAUTHENTICATED (16) otherwise.
    zitadel.reply(
        METHODS_PATH, Reply(status, {"code": 5 if status == 404 else 16, "message": "no"})
    )

    assert read(reader) == unavailable(reason)
    assert zitadel.count(METHODS_PATH) == 1
    assert sleeps == []


def test_a_404_that_is_not_zitadels_says_so(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader
) -> None:
    # A proxy's page or a wrong API URL: not an answer about this person.
    zitadel.reply(SESSION_PATH, Reply(body=session()))
    zitadel.reply(METHODS_PATH, Reply(404, {"error": "no route"}))

    assert read(reader) == unavailable("unexpected_not_found")


def test_slow_provider_is_unavailable_within_the_budget(
    zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    zitadel.reply(SESSION_PATH, Reply(block=True))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))
    reader = reader_for(zitadel.url, sleeps, timeout=0.3)

    started = time.monotonic()
    evidence = read(reader)

    assert evidence == unavailable("provider_timeout")
    assert time.monotonic() - started < 2.0


def test_slow_provider_read_in_sequence_is_unavailable_within_the_budget(
    zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    zitadel.reply(SESSION_PATH, Reply(block=True))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))
    reader = reader_for(zitadel.url, sleeps, timeout=0.3, concurrent=False)

    started = time.monotonic()
    evidence = read(reader)

    assert evidence == unavailable("provider_timeout")
    assert time.monotonic() - started < 2.0
    # The budget was spent on the session: the second call was never started.
    assert zitadel.count(METHODS_PATH) == 0


def test_unreachable_provider_is_unavailable(sleeps: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more: every connection is refused.
    reader = reader_for(f"http://127.0.0.1:{port}", sleeps)

    assert read(reader) == unavailable("provider_unreachable")
    # Both calls ran, each retried twice.
    assert sorted(sleeps) == [0.1, 0.1, 0.2, 0.2]


def test_body_that_is_not_json_is_unavailable(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader, sleeps: list[float]
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body=b"<html>gateway</html>"))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP")))

    assert read(reader) == unavailable("provider_malformed")
    assert sleeps == []


def _session_with(**changes: Any) -> dict[str, Any]:
    body = session(totp={"verifiedAt": VERIFIED_AT})
    body["session"]["factors"].update(changes)
    return body


@pytest.mark.parametrize(
    ("session_body", "methods_body"),
    [
        ([], methods()),
        ({}, methods()),
        ({"session": "id"}, methods()),
        ({"session": {"factors": []}}, methods()),
        (_session_with(totp={}), methods()),
        (_session_with(totp="2025-06-15T10:00:05Z"), methods()),
        (_session_with(totp={"verifiedAt": 1750000000}), methods()),
        (_session_with(totp={"verifiedAt": "yesterday"}), methods()),
        (_session_with(totp={"verifiedAt": "2025-06-15T10:00:05"}), methods()),
        (_session_with(recoveryCode={"verifiedAt": None}), methods()),
        (_session_with(user="alice"), methods()),
        (_session_with(user={"id": 312044223372036999}), methods()),
        (session(), []),
        (session(), {"authMethodTypes": "AUTHENTICATION_METHOD_TYPE_TOTP"}),
        (session(), {"authMethodTypes": [1, 2]}),
    ],
)
def test_unexpected_shapes_are_unavailable(
    session_body: Any,
    methods_body: Any,
    zitadel: FakeZitadel,
    reader: ZitadelEvidenceReader,
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body=session_body))
    zitadel.reply(METHODS_PATH, Reply(body=methods_body))

    assert read(reader) == unavailable("provider_malformed")


def test_nothing_secret_is_logged(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    zitadel.reply(SESSION_PATH, Reply(503, {"message": "secret-body-marker"}))
    zitadel.reply(METHODS_PATH, Reply(body={"authMethodTypes": "secret-body-marker"}))

    read(reader)

    assert caplog.records
    assert SERVICE_TOKEN not in caplog.text
    assert "secret-body-marker" not in caplog.text
    assert "zitadel evidence unavailable: provider_error" in caplog.text


# -- the budget, with a clock that moves only when told --------------------------------------


def _mock_reader(handler: Any, clock: Clock, sleep: Any, **options: Any) -> ZitadelEvidenceReader:
    return ZitadelEvidenceReader(
        "https://zitadel.example.test",
        SERVICE_TOKEN,
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        clock=clock,
        sleep=sleep,
        concurrent=False,
        **options,
    )


def test_no_retry_starts_when_the_backoff_would_overrun_the_budget() -> None:
    clock = Clock()
    sleeps: list[float] = []

    def slow_failure(request: httpx.Request) -> httpx.Response:
        clock.advance(2.95)
        return httpx.Response(503)

    reader = _mock_reader(slow_failure, clock, sleeps.append)

    assert read(reader) == unavailable("provider_error")
    assert sleeps == []


def test_budget_spent_in_backoff_ends_the_read() -> None:
    clock = Clock()
    calls: list[str] = []

    def failing(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(502)

    reader = _mock_reader(failing, clock, lambda seconds: clock.advance(5))

    assert read(reader) == unavailable("provider_timeout")
    # One attempt at the session; nothing left for the methods call.
    assert calls == [SESSION_PATH]


def test_transport_timeout_is_a_provider_timeout() -> None:
    def timing_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    reader = _mock_reader(timing_out, Clock(), lambda seconds: None, retries=0)

    assert read(reader) == unavailable("provider_timeout")


@pytest.mark.parametrize("concurrent", [True, False])
def test_unexpected_failure_is_unavailable_and_never_raised(
    concurrent: bool, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(SERVICE_TOKEN)

    reader = ZitadelEvidenceReader(
        "https://zitadel.example.test",
        SERVICE_TOKEN,
        http=httpx.Client(transport=httpx.MockTransport(broken)),
        concurrent=concurrent,
    )

    assert read(reader) == unavailable("provider_error")
    assert "RuntimeError" in caplog.text
    assert SERVICE_TOKEN not in caplog.text


# -- AMR mode (Login V1) ---------------------------------------------------------------------


@pytest.mark.parametrize("amr", [["pwd", "otp", "mfa"], ["pwd"]])
def test_amr_mode_without_a_service_token_is_unavailable(amr: list[str]) -> None:
    # `otp` may be an SMS or e-mail code, and only the API can say which methods exist.
    reader = ZitadelEvidenceReader("https://zitadel.example.test", "", mode=Source.AMR)

    evidence = read(reader, sid="V1_abc", amr=amr, auth_time=AUTH_TIME)

    assert evidence == unavailable("provider_unconfigured", Source.AMR)


def test_mfa_in_amr_without_otp_is_not_a_recognised_factor(
    zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", "TOTP", "U2F")))
    reader = reader_for(zitadel.url, sleeps, mode=Source.AMR)

    assert read(reader, amr=["user", "mfa"], auth_time=AUTH_TIME).verified == {}


@pytest.mark.parametrize(
    "enrolled",
    [("TOTP", "OTP_SMS"), ("TOTP", "OTP_EMAIL"), ("OTP_SMS",), ("OTP_EMAIL",), ("PASSWORD",)],
)
def test_otp_in_amr_does_not_count_unless_totp_is_the_only_one_time_code(
    enrolled: tuple[str, ...], zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", *enrolled)))
    reader = reader_for(zitadel.url, sleeps, mode=Source.AMR)

    assert read(reader, auth_time=AUTH_TIME) == unavailable("otp_ambiguous", Source.AMR)


def test_no_otp_in_amr_with_sms_codes_enrolled_is_read_plainly(
    zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", "TOTP", "OTP_SMS")))
    reader = reader_for(zitadel.url, sleeps, mode=Source.AMR)

    evidence = read(reader, amr=["pwd"], auth_time=AUTH_TIME)

    assert evidence == Evidence(Source.AMR, totp_enrolled=True, recovery_codes_present=False)


@pytest.mark.parametrize("auth_time", [None, datetime(2025, 6, 15, 10, 0)])
def test_otp_without_an_aware_auth_time_is_unavailable(auth_time: datetime | None) -> None:
    reader = ZitadelEvidenceReader("https://zitadel.example.test", "", mode=Source.AMR)

    evidence = read(reader, auth_time=auth_time)

    assert evidence == unavailable("auth_time_missing", Source.AMR)


def test_auth_time_is_kept_in_utc(zitadel: FakeZitadel, sleeps: list[float]) -> None:
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", "TOTP")))
    reader = reader_for(zitadel.url, sleeps, mode=Source.AMR)
    local = AUTH_TIME.astimezone(timezone(timedelta(hours=10)))

    assert read(reader, auth_time=local).verified[Factor.OTP].tzinfo is UTC


def test_amr_given_as_a_bare_string_is_one_value(zitadel: FakeZitadel, sleeps: list[float]) -> None:
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", "TOTP")))
    reader = reader_for(zitadel.url, sleeps, mode=Source.AMR)

    assert read(reader, amr="otp", auth_time=AUTH_TIME).verified == {Factor.OTP: AUTH_TIME}
    assert read(reader, amr="otpx", auth_time=AUTH_TIME).verified == {}


def test_amr_mode_reads_enrolment_with_a_service_token(
    zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", "TOTP", "RECOVERY_CODE")))
    reader = reader_for(zitadel.url, sleeps, mode=Source.AMR)

    evidence = read(reader, sid=None, auth_time=AUTH_TIME)

    assert evidence == Evidence(
        source=Source.AMR,
        totp_enrolled=True,
        recovery_codes_present=True,
        verified={Factor.OTP: AUTH_TIME},
    )
    assert zitadel.requests == [(METHODS_PATH, f"Bearer {SERVICE_TOKEN}")]


def test_amr_mode_is_unavailable_when_enrolment_cannot_be_read(
    zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    zitadel.reply(METHODS_PATH, Reply(401, {"message": "token expired"}))
    reader = reader_for(zitadel.url, sleeps, mode=Source.AMR)

    assert read(reader, auth_time=AUTH_TIME) == unavailable("provider_unauthorised", Source.AMR)


def test_amr_mode_is_unavailable_when_enrolment_is_malformed(
    zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    zitadel.reply(METHODS_PATH, Reply(body={"authMethodTypes": {"TOTP": True}}))
    reader = reader_for(zitadel.url, sleeps, mode=Source.AMR)

    assert read(reader, auth_time=AUTH_TIME) == unavailable("provider_malformed", Source.AMR)


def test_amr_mode_refuses_a_subject_that_is_not_an_id(
    zitadel: FakeZitadel, sleeps: list[float]
) -> None:
    reader = reader_for(zitadel.url, sleeps, mode=Source.AMR)

    assert read(reader, sub="a/b", auth_time=AUTH_TIME) == unavailable(
        "invalid_subject", Source.AMR
    )
    assert zitadel.requests == []


# -- construction and doubles ----------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"api_url": "zitadel.example.test"},
        {"api_url": "ftp://zitadel.example.test"},
        {"timeout": 0},
        {"retries": -1},
        {"mode": "bogus"},
    ],
)
def test_bad_configuration_is_refused_at_start_up(options: dict[str, Any]) -> None:
    values: dict[str, Any] = {"api_url": "https://zitadel.example.test", **options}
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        ZitadelEvidenceReader(values.pop("api_url"), SERVICE_TOKEN, **values)


def test_readers_of_one_process_share_one_client_and_never_close_it() -> None:
    own = ZitadelEvidenceReader("https://zitadel.example.test/", SERVICE_TOKEN, mode="amr")  # type: ignore[arg-type]
    other = ZitadelEvidenceReader("https://zitadel.example.test", "another-token")
    assert own.mode is Source.AMR
    own.close()
    assert own._api.http is other._api.http
    assert not other._api.http.is_closed

    shared = httpx.Client()
    ZitadelEvidenceReader("https://zitadel.example.test", SERVICE_TOKEN, http=shared).close()
    assert not shared.is_closed
    shared.close()


def test_static_reader_returns_its_evidence_and_remembers_the_question() -> None:
    preset = Evidence(Source.SESSION, totp_enrolled=True, recovery_codes_present=True)
    reader: EvidenceReader = StaticEvidenceReader(preset)

    assert read(reader, auth_time=AUTH_TIME) is preset
    assert reader.calls == [
        {"sid": SESSION_ID, "sub": USER_ID, "amr": ["pwd", "otp", "mfa"], "auth_time": AUTH_TIME}
    ]


def test_a_second_factor_the_session_api_does_not_show_is_named_for_the_operator(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader, caplog: pytest.LogCaptureFixture
) -> None:
    # A recovery-code sign-in on a Zitadel without the `recoveryCode` factor: only user and
    # password are listed for a person who has an authenticator app (whatever amr says).
    body = session(totp={"verifiedAt": VERIFIED_AT})
    del body["session"]["factors"]["totp"]
    zitadel.reply(SESSION_PATH, Reply(body=body))
    zitadel.reply(METHODS_PATH, Reply(body=methods("TOTP", "RECOVERY_CODE")))

    evidence = read(reader, amr=["pwd", "mfa"])

    assert evidence.verified == {}
    assert any("Zitadel to 4.11" in record.getMessage() for record in caplog.records)


# -- a recovery-code check the Session API does not report (Zitadel before 4.11) -------------


def test_an_unreported_recovery_code_check_is_logged_though_amr_says_nothing_of_it(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader, caplog: pytest.LogCaptureFixture
) -> None:
    # A recovery code adds nothing to amr (Zitadel's AuthMethodTypesToAMR): just ["pwd"].
    zitadel.reply(SESSION_PATH, Reply(body=session(password={"verifiedAt": VERIFIED_AT})))
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD", "TOTP")))

    evidence = read(reader, amr=["pwd"])

    assert evidence.verified == {}
    assert "recovery_code_factor_missing" in caplog.text


def test_a_person_without_a_second_factor_is_not_taken_for_an_unreported_check(
    zitadel: FakeZitadel, reader: ZitadelEvidenceReader, caplog: pytest.LogCaptureFixture
) -> None:
    zitadel.reply(SESSION_PATH, Reply(body=session(password={"verifiedAt": VERIFIED_AT})))
    zitadel.reply(METHODS_PATH, Reply(body=methods("PASSWORD")))

    read(reader, amr=["pwd", "otp", "mfa"])

    assert "recovery_code_factor_missing" not in caplog.text
