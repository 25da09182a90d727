"""The Zitadel API client: JSON answers, or a reason; the service token renewed once after a 401."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aidial_portal.identity.service_credentials import NoServiceCredentials
from aidial_portal.identity.zitadel_api import ApiFailure, ZitadelApi

from .fake_zitadel import SERVICE_TOKEN, FakeZitadel, Reply

LIST_USERS = "/zitadel.user.v2.UserService/ListUsers"


@pytest.fixture
def zitadel() -> Iterator[FakeZitadel]:
    server = FakeZitadel()
    yield server
    server.close()


class RenewableToken:
    """Service credentials that hand out a new token after each invalidation."""

    def __init__(self) -> None:
        self.issued = 1

    def authorization(self) -> str | None:
        return f"Bearer grant-{self.issued}"

    def invalidate(self) -> None:
        self.issued += 1


def test_a_list_call_posts_its_json_body_with_the_service_token(zitadel: FakeZitadel) -> None:
    zitadel.reply(
        LIST_USERS, Reply(200, {"details": {"totalResult": "1"}, "result": [{"id": "7"}]})
    )
    api = ZitadelApi(zitadel.url, SERVICE_TOKEN)

    answer = api.post_json(LIST_USERS, {"query": {"limit": 100}}, deadline=api.deadline(3))

    assert answer == {"details": {"totalResult": "1"}, "result": [{"id": "7"}]}
    assert zitadel.bodies == [{"query": {"limit": 100}}]
    assert zitadel.requests == [(LIST_USERS, f"Bearer {SERVICE_TOKEN}")]


def test_a_401_renews_the_service_token_once_and_asks_again(zitadel: FakeZitadel) -> None:
    zitadel.reply("/v2/sessions/1", Reply(401, {}), Reply(200, {"session": {}}))
    api = ZitadelApi(zitadel.url, RenewableToken())

    assert api.get_json("/v2/sessions/1", deadline=api.deadline(3)) == {"session": {}}
    assert [header for _, header in zitadel.requests] == ["Bearer grant-1", "Bearer grant-2"]


def test_a_second_401_is_a_reason_and_the_token_is_renewed_only_once(
    zitadel: FakeZitadel,
) -> None:
    zitadel.reply(LIST_USERS, Reply(401, {}))
    credentials = RenewableToken()
    api = ZitadelApi(zitadel.url, credentials)

    answer = api.post_json(LIST_USERS, {}, deadline=api.deadline(3))

    assert answer == ApiFailure("provider_unauthorised")
    assert zitadel.count(LIST_USERS) == 2
    assert credentials.issued == 2


def test_a_personal_access_token_is_not_sent_again_after_a_401(zitadel: FakeZitadel) -> None:
    zitadel.reply("/v2/sessions/1", Reply(401, {}))
    api = ZitadelApi(zitadel.url, SERVICE_TOKEN)

    assert api.get_json("/v2/sessions/1", deadline=api.deadline(3)) == ApiFailure(
        "provider_unauthorised"
    )
    assert zitadel.count("/v2/sessions/1") == 1


def test_a_slow_answer_is_a_timeout_reason_not_an_exception(zitadel: FakeZitadel) -> None:
    zitadel.reply(LIST_USERS, Reply(200, {}, block=True))
    api = ZitadelApi(zitadel.url, SERVICE_TOKEN)

    answer = api.post_json(LIST_USERS, {}, deadline=api.deadline(0.2))

    assert answer == ApiFailure("provider_timeout", transient=True)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, [{"id": "7"}]), "provider_malformed"),
        (Reply(200, b"<html>"), "provider_malformed"),
        (Reply(404, {"code": "not_found", "message": "not found"}), "provider_not_found"),
        (Reply(404, b"<html>no route</html>"), "unexpected_not_found"),
        (Reply(403, {"code": "permission_denied"}), "provider_unauthorised"),
        (Reply(400, {"code": "invalid_argument"}), "provider_error"),
    ],
)
def test_an_answer_that_is_not_a_json_object_is_a_reason(
    zitadel: FakeZitadel, reply: Reply, reason: str
) -> None:
    zitadel.reply(LIST_USERS, reply)
    api = ZitadelApi(zitadel.url, SERVICE_TOKEN)

    answer = api.post_json(LIST_USERS, {}, deadline=api.deadline(3))

    assert answer == ApiFailure(reason)


def test_a_server_error_is_retried_while_the_deadline_leaves_room(zitadel: FakeZitadel) -> None:
    zitadel.reply(LIST_USERS, Reply(503, {}), Reply(200, {"result": []}))
    waited: list[float] = []
    api = ZitadelApi(zitadel.url, SERVICE_TOKEN, sleep=waited.append)

    answer = api.post_json(LIST_USERS, {}, deadline=api.deadline(3), retries=1)

    assert answer == {"result": []}
    assert waited == [0.1]


def test_without_service_credentials_nothing_is_sent(zitadel: FakeZitadel) -> None:
    api = ZitadelApi(zitadel.url, NoServiceCredentials())

    answer = api.get_json("/v2/sessions/1", deadline=api.deadline(3))

    assert answer == ApiFailure("provider_unconfigured")
    assert zitadel.requests == []


def test_the_api_url_must_be_an_absolute_http_url() -> None:
    with pytest.raises(ValueError, match="absolute"):
        ZitadelApi("zitadel.example.test", SERVICE_TOKEN)
