"""`aidial-portal sessions revalidate`: sessions ended at the provider end here too; an
unreachable or failing provider ends nothing."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command

from aidial_portal.audit.models import SecurityEvent
from aidial_portal.sessions import index
from aidial_portal.sessions.models import SessionBinding

from .conftest import Person

pytestmark = pytest.mark.django_db

TOKEN = "svc-token-revalidation"
ALIVE = {"session": {"id": "x", "expirationDate": "2999-01-01T00:00:00.000000000Z"}}
EXPIRED = {"session": {"id": "x", "expirationDate": "2020-01-01T00:00:00Z"}}
NO_EXPIRY = {"session": {"id": "x", "factors": {}}}


class SessionApi:
    """`GET /v2/sessions/{id}` on loopback: canned answers per session id, counted."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, Any]] = {}
        self.seen: list[tuple[str, str | None]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.barrier: threading.Barrier | None = None
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sid = self.path.removeprefix("/v2/sessions/")
                with api.lock:
                    api.seen.append((sid, self.headers.get("Authorization")))
                    api.in_flight += 1
                    api.most_in_flight = max(api.most_in_flight, api.in_flight)
                try:
                    if api.barrier is not None:
                        api.barrier.wait(timeout=10)
                    status, body = api.answers.get(sid, (404, {"code": 5, "message": "nf"}))
                finally:
                    with api.lock:
                        api.in_flight -= 1
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}
        )
        self.thread.start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def close(self) -> None:
        if self.barrier is not None:
            self.barrier.abort()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def api(portal_config: Callable[..., None]) -> Iterator[SessionApi]:
    fake = SessionApi()
    portal_config(api_url=fake.url, service_token=TOKEN)
    yield fake
    fake.close()


def revalidate(*options: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("sessions", "revalidate", *options, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


def test_sessions_ended_or_expired_at_the_provider_are_ended(
    api: SessionApi, signed_in: Callable[..., Person]
) -> None:
    terminated = signed_in("user-1", "sid-gone")
    expired = signed_in("user-2", "sid-expired")
    alive = signed_in("user-3", "sid-alive")
    undated = signed_in("user-4", "sid-undated")
    api.answers = {"sid-expired": (200, EXPIRED), "sid-alive": (200, ALIVE)}
    api.answers["sid-undated"] = (200, NO_EXPIRY)

    out, _ = revalidate()

    assert out == "checked 4, ended 2, unreadable 0"
    assert not terminated.is_signed_in()
    assert not expired.is_signed_in()
    assert alive.is_signed_in()
    assert undated.is_signed_in()
    events = SecurityEvent.objects.filter(event_type="session_ended_at_provider")
    assert sorted((e.account_id, e.reason) for e in events) == sorted(
        [(terminated.account.pk, "not_found"), (expired.account.pk, "expired")]
    )
    assert {authorization for _, authorization in api.seen} == {f"Bearer {TOKEN}"}


def test_a_provider_that_cannot_be_reached_ends_nothing(
    portal_config: Callable[..., None], signed_in: Callable[..., Person]
) -> None:
    portal_config(api_url="http://127.0.0.1:9", service_token=TOKEN)
    people = [signed_in(f"user-{n}", f"sid-{n}") for n in range(3)]

    out, err = revalidate("--timeout", "2")

    assert out == "checked 3, ended 0, unreadable 3"
    assert "provider_unreachable 3" in err
    assert all(person.is_signed_in() for person in people)
    assert not SecurityEvent.objects.filter(event_type="session_ended_at_provider").exists()


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, "provider_error"), (503, "provider_error"), (403, "provider_unauthorised")],
)
def test_a_failing_provider_ends_nothing(
    api: SessionApi, signed_in: Callable[..., Person], status: int, reason: str
) -> None:
    alice = signed_in("user-1", "sid-1")
    api.answers = {"sid-1": (status, {"code": 13, "message": "internal"})}

    out, err = revalidate()

    assert out == "checked 1, ended 0, unreadable 1"
    assert f"{reason} 1" in err
    assert alice.is_signed_in()


def test_a_refused_personal_access_token_is_asked_once_and_ends_nothing(
    api: SessionApi, signed_in: Callable[..., Person]
) -> None:
    alice = signed_in("user-1", "sid-1")
    api.answers = {"sid-1": (401, {"code": 16, "message": "unauthenticated"})}

    out, err = revalidate()

    assert out == "checked 1, ended 0, unreadable 1"
    assert "provider_unauthorised 1" in err
    # A personal access token cannot be renewed, so the same header is not sent again.
    assert api.seen == [("sid-1", f"Bearer {TOKEN}")]
    assert alice.is_signed_in()


def test_readers_use_the_process_client_for_the_api() -> None:
    from aidial_portal.identity import http as shared_http
    from aidial_portal.identity.service_credentials import PersonalAccessToken
    from aidial_portal.identity.session_status import SessionStatusReader

    reader = SessionStatusReader("http://127.0.0.1:9/", PersonalAccessToken(TOKEN))
    reader.close()

    assert reader._api.http is shared_http.client_for("http://127.0.0.1:9")
    assert not reader._api.http.is_closed


def test_a_malformed_answer_ends_nothing(api: SessionApi, signed_in: Callable[..., Person]) -> None:
    alice = signed_in("user-1", "sid-1")
    api.answers = {"sid-1": (200, {"session": {"expirationDate": "yesterday"}})}
    assert revalidate()[0] == "checked 1, ended 0, unreadable 1"
    assert alice.is_signed_in()


def test_login_v1_sessions_cannot_be_read_and_are_left_alone(
    api: SessionApi, signed_in: Callable[..., Person]
) -> None:
    alice = signed_in("user-1", "V1_312044223372036111")
    assert revalidate()[0] == "checked 1, ended 0, unreadable 1"
    assert api.seen == []
    assert alice.is_signed_in()


def test_reads_run_side_by_side_but_never_more_than_the_bound(
    api: SessionApi, signed_in: Callable[..., Person]
) -> None:
    for n in range(6):
        signed_in(f"user-{n}", f"sid-{n}")
        api.answers[f"sid-{n}"] = (200, ALIVE)
    # Each read waits for a second one: with fewer than 2 at once this would time out.
    api.barrier = threading.Barrier(2)

    out, _ = revalidate("--concurrency", "2")

    assert out == "checked 6, ended 0, unreadable 0"
    assert api.most_in_flight == 2


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_end_each_session_once(
    api: SessionApi, signed_in: Callable[..., Person]
) -> None:
    people = [signed_in(f"user-{n}", f"sid-gone-{n}") for n in range(4)]
    outputs: list[str] = []
    runs = [threading.Thread(target=lambda: outputs.append(revalidate()[0])) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    ended = sum(int(out.split("ended ")[1].split(",")[0]) for out in outputs)
    assert ended == 4
    assert SecurityEvent.objects.filter(event_type="session_ended_at_provider").count() == 4
    assert not any(person.is_signed_in() for person in people)


def test_bindings_of_sessions_already_gone_are_tidied_without_a_read(
    api: SessionApi, signed_in: Callable[..., Person]
) -> None:
    alice = signed_in("user-1", "sid-1")
    # Ended in the store without the binding noticing (an idle session Redis let expire).
    index.session_store().delete_stored(index.stored_key(alice.client.session.session_key))
    assert SessionBinding.objects.exists()
    assert revalidate()[0] == "checked 0, ended 0, unreadable 0"
    assert api.seen == []
    assert not SessionBinding.objects.exists()


def test_bad_options_are_refused() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--concurrency"):
        revalidate("--concurrency", "0")


@pytest.mark.parametrize(
    "body",
    [
        "<html><body>404 Not Found</body></html>",  # a proxy, or a wrong AIDIAL_ZITADEL_API_URL
        {},
        {"error": "not found"},
        {"code": 3, "message": "invalid argument"},
        {"code": True, "message": "not a gRPC code"},
    ],
)
def test_a_404_that_is_not_zitadels_not_found_ends_nothing(
    api: SessionApi, signed_in: Callable[..., Person], body: Any
) -> None:
    person = signed_in("user-1", "sid-1")
    api.answers = {"sid-1": (404, body)}

    out, err = revalidate()

    assert out == "checked 1, ended 0, unreadable 1"
    assert "unexpected_not_found 1" in err
    assert person.is_signed_in()


def test_zitadels_connect_not_found_also_ends_the_session(
    api: SessionApi, signed_in: Callable[..., Person]
) -> None:
    person = signed_in("user-1", "sid-1")
    api.answers = {"sid-1": (404, {"code": "not_found", "message": "Session not found"})}

    out, _ = revalidate()

    assert out == "checked 1, ended 1, unreadable 0"
    assert not person.is_signed_in()
