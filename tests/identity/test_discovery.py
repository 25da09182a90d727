"""Provider discovery and the JWKS cache, against httpx.MockTransport and a hand-wound clock."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from joserfc.jwk import KeySet

from aidial_portal.identity.discovery import (
    IssuerMismatch,
    ProviderDirectory,
    ProviderMisconfigured,
    ProviderUnavailable,
)
from aidial_portal.identity.tokens import id_token_claims

from .provider import ISSUER, NONCE, NOW, POLICY, SUBJECT, Clock, mint, signing_key

DISCOVERY = f"{ISSUER}/.well-known/openid-configuration"
JWKS = f"{ISSUER}/oauth/v2/keys"


def _jwks(*kids: str) -> dict[str, Any]:
    return {"keys": [signing_key(kid).as_dict(private=False) for kid in kids]}


def kids(key_set: KeySet) -> list[str | None]:
    return [key.kid for key in key_set.keys]


def _discovery(issuer: str, /, **changes: Any) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/v2/authorize",
        "token_endpoint": f"{issuer}/oauth/v2/token",
        "userinfo_endpoint": f"{issuer}/oidc/v1/userinfo",
        "end_session_endpoint": f"{issuer}/oidc/v1/end_session",
        "jwks_uri": f"{issuer}/oauth/v2/keys",
        "id_token_signing_alg_values_supported": ["RS256"],
        **changes,
    }


@dataclass
class FakeIdp:
    """Answers discovery and JWKS requests; `failure` makes every request fail that way."""

    discovery: Any = field(default_factory=lambda: _discovery(ISSUER))
    jwks: Any = field(default_factory=lambda: _jwks("key-1"))
    failure: Callable[[httpx.Request], httpx.Response] | None = None
    requests: Counter[str] = field(default_factory=Counter)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests[str(request.url)] += 1
        if self.failure is not None:
            return self.failure(request)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.discovery)
        if str(request.url) == self.discovery.get("jwks_uri"):
            return httpx.Response(200, json=self.jwks)
        return httpx.Response(404)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def timing_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def server_error(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, text="upstream trouble")


def not_json(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="<html>maintenance</html>")


@pytest.fixture
def idp() -> FakeIdp:
    return FakeIdp()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(idp: FakeIdp, clock: Clock) -> ProviderDirectory:
    return ProviderDirectory(
        ISSUER,
        http=httpx.Client(transport=httpx.MockTransport(idp)),
        ttl=300,
        refresh_interval=30,
        clock=clock,
    )


# -- construction ----------------------------------------------------------------------------


def test_construction_makes_no_network_call(idp: FakeIdp, directory: ProviderDirectory) -> None:
    assert directory.issuer == ISSUER
    assert idp.total == 0
    assert directory.status()["discovery"] == "unavailable"
    assert directory.status()["keys"] == "unavailable"
    assert idp.total == 0


@pytest.mark.parametrize("issuer", ["", "id.example.test", "ftp://id.example.test", "https://"])
def test_issuer_must_be_an_absolute_http_url(issuer: str) -> None:
    with pytest.raises(ValueError, match="issuer"):
        ProviderDirectory(issuer)


def test_directories_of_one_process_share_one_client_and_closing_one_leaves_it_open() -> None:
    first, second = ProviderDirectory(ISSUER), ProviderDirectory(ISSUER + "/")
    first.close()
    assert first._http is second._http
    assert not second._http.is_closed


def test_status_before_any_fetch_says_nothing_was_fetched(directory: ProviderDirectory) -> None:
    assert directory.status() == {
        "issuer": ISSUER,
        "discovery": "unavailable",
        "discovery_age": None,
        "discovery_error": None,
        "keys": "unavailable",
        "keys_age": None,
        "keys_error": None,
        "key_count": 0,
    }


# -- discovery -------------------------------------------------------------------------------


def test_metadata_is_cached_for_its_ttl(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    assert directory.metadata()["jwks_uri"] == JWKS
    clock.advance(299)
    directory.metadata()
    assert idp.requests[DISCOVERY] == 1

    clock.advance(1)
    directory.metadata()
    assert idp.requests[DISCOVERY] == 2
    assert directory.status()["discovery"] == "ok"


def test_issuer_with_trailing_slash_finds_its_discovery_document(idp: FakeIdp) -> None:
    idp.discovery["issuer"] = ISSUER + "/"
    directory = ProviderDirectory(
        ISSUER + "/", http=httpx.Client(transport=httpx.MockTransport(idp))
    )
    assert directory.metadata()["issuer"] == ISSUER + "/"
    assert idp.requests[DISCOVERY] == 1


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (down, "provider_unreachable"),
        (timing_out, "provider_timeout"),
        (server_error, "provider_error"),
        (not_json, "malformed_discovery"),
    ],
)
def test_unreachable_provider_with_nothing_cached_is_unavailable(
    failure: Callable[[httpx.Request], httpx.Response],
    reason: str,
    idp: FakeIdp,
    directory: ProviderDirectory,
) -> None:
    idp.failure = failure
    with pytest.raises(ProviderUnavailable) as caught:
        directory.metadata()

    assert caught.value.reason == reason
    assert directory.status()["discovery"] == "unavailable"
    assert directory.status()["discovery_error"] == reason


@pytest.mark.parametrize(
    "document",
    [
        [],
        {},
        _discovery(ISSUER, issuer=1),
        {"issuer": ISSUER},
        _discovery(ISSUER, jwks_uri=7),
        _discovery(ISSUER, jwks_uri="/oauth/v2/keys"),
        _discovery(ISSUER, jwks_uri="file://localhost/etc/passwd"),
        _discovery(ISSUER, token_endpoint=None),
        _discovery(ISSUER, userinfo_endpoint=["https://id.example.test/oidc/v1/userinfo"]),
    ],
)
def test_discovery_of_the_wrong_shape_is_unavailable(
    document: Any, idp: FakeIdp, directory: ProviderDirectory
) -> None:
    idp.discovery = document
    with pytest.raises(ProviderUnavailable) as caught:
        directory.metadata()
    assert caught.value.reason == "malformed_discovery"


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("jwks_uri", "http://id.example.test/oauth/v2/keys"),  # plain http
        ("token_endpoint", "https://elsewhere.example.test/oauth/v2/token"),
        ("userinfo_endpoint", "https://id.example.test:8443/oidc/v1/userinfo"),
        ("end_session_endpoint", "https://evil.example.test/oidc/v1/end_session"),
        ("authorization_endpoint", "https://user@id.example.test/oauth/v2/authorize"),
    ],
)
def test_an_endpoint_off_the_issuers_origin_refuses_the_provider_and_says_what_to_change(
    name: str,
    url: str,
    idp: FakeIdp,
    directory: ProviderDirectory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    idp.discovery = _discovery(ISSUER, **{name: url})
    with pytest.raises(ProviderMisconfigured) as caught:
        directory.metadata()
    assert caught.value.reason == "endpoint_off_origin"
    assert directory.status()["discovery"] == "endpoint_off_origin"
    assert any(
        name in record.getMessage() and "AIDIAL_OIDC_ISSUER" in record.getMessage()
        for record in caplog.records
    )


def test_a_copy_fetched_before_an_endpoint_moved_off_origin_is_not_served(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    directory.metadata()
    idp.discovery = _discovery(ISSUER, token_endpoint="https://elsewhere.example.test/token")
    clock.advance(301)
    with pytest.raises(ProviderMisconfigured):
        directory.metadata()


def test_plain_http_jwks_uri_is_accepted_for_a_plain_http_issuer() -> None:
    issuer = "http://127.0.0.1:8080"
    idp = FakeIdp(discovery=_discovery(issuer))
    directory = ProviderDirectory(issuer, http=httpx.Client(transport=httpx.MockTransport(idp)))
    assert directory.metadata()["jwks_uri"] == f"{issuer}/oauth/v2/keys"


def test_metadata_is_served_stale_while_the_provider_is_down(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    good = directory.metadata()
    clock.advance(301)
    idp.failure = down

    assert directory.metadata() == good
    status = directory.status()
    assert status["discovery"] == "stale"
    assert status["discovery_error"] == "provider_unreachable"
    assert status["discovery_age"] == 301


def test_failed_fetch_is_not_retried_before_the_refresh_interval(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    directory.metadata()
    clock.advance(301)
    idp.failure = down
    directory.metadata()
    clock.advance(29)
    directory.metadata()
    assert idp.requests[DISCOVERY] == 2

    idp.failure = None
    clock.advance(1)
    directory.metadata()
    assert idp.requests[DISCOVERY] == 3
    assert directory.status()["discovery"] == "ok"
    assert directory.status()["discovery_error"] is None


def test_unavailable_provider_is_not_asked_again_before_the_refresh_interval(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    idp.failure = down
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            directory.metadata()
    assert idp.requests[DISCOVERY] == 1

    clock.advance(30)
    idp.failure = None
    assert directory.metadata()["issuer"] == ISSUER


def test_discovery_naming_another_issuer_is_refused(
    idp: FakeIdp, directory: ProviderDirectory
) -> None:
    idp.discovery["issuer"] = "https://evil.example.test"
    with pytest.raises(IssuerMismatch) as caught:
        directory.metadata()

    assert caught.value.reason == "issuer_mismatch"
    assert directory.status()["discovery"] == "issuer_mismatch"


def test_issuer_mismatch_is_never_hidden_behind_a_stale_copy(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    directory.metadata()
    clock.advance(301)
    idp.discovery["issuer"] = "https://evil.example.test"

    with pytest.raises(IssuerMismatch):
        directory.metadata()
    # Still refused, without asking again, until the refresh interval has passed.
    with pytest.raises(IssuerMismatch):
        directory.keys()
    assert idp.requests[DISCOVERY] == 2
    assert directory.status()["discovery"] == "issuer_mismatch"

    idp.discovery["issuer"] = ISSUER
    clock.advance(30)
    assert directory.metadata()["issuer"] == ISSUER
    assert directory.status()["discovery"] == "ok"


def test_issuer_mismatch_is_a_provider_unavailable(
    idp: FakeIdp, directory: ProviderDirectory
) -> None:
    idp.discovery["issuer"] = ISSUER + "/"
    with pytest.raises(ProviderUnavailable):
        directory.metadata()


# -- keys ------------------------------------------------------------------------------------


def test_keys_come_from_the_jwks_uri_and_are_cached(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    assert kids(directory.keys()) == ["key-1"]
    clock.advance(100)
    directory.keys()
    assert idp.requests == Counter({DISCOVERY: 1, JWKS: 1})
    assert directory.status()["keys"] == "ok"
    assert directory.status()["key_count"] == 1

    clock.advance(200)
    directory.keys()
    assert idp.requests == Counter({DISCOVERY: 2, JWKS: 2})


def test_keys_are_served_stale_while_the_provider_is_down(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    directory.keys()
    clock.advance(301)
    idp.failure = server_error

    assert kids(directory.keys()) == ["key-1"]
    assert directory.status()["keys"] == "stale"
    assert directory.status()["discovery"] == "stale"


def test_keys_are_unavailable_when_never_fetched_and_the_provider_is_down(
    idp: FakeIdp, directory: ProviderDirectory
) -> None:
    idp.failure = timing_out
    with pytest.raises(ProviderUnavailable) as caught:
        directory.keys()
    assert caught.value.reason == "provider_timeout"


def test_keys_are_unavailable_when_only_the_jwks_fails(
    idp: FakeIdp, directory: ProviderDirectory
) -> None:
    idp.jwks = "not a key set"
    with pytest.raises(ProviderUnavailable) as caught:
        directory.keys()
    assert caught.value.reason == "malformed_jwks"
    assert directory.status()["discovery"] == "ok"
    assert directory.status()["keys"] == "unavailable"


def test_shared_secrets_and_unreadable_entries_are_dropped_from_the_jwks(
    idp: FakeIdp, directory: ProviderDirectory
) -> None:
    idp.jwks = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "shared"},
            {"kty": "RSA", "kid": "broken", "n": "AQAB"},
            {"kty": "PQC", "kid": "future"},
            "not an object",
            signing_key("key-1").as_dict(private=False),
        ]
    }
    assert kids(directory.keys()) == ["key-1"]


@pytest.mark.parametrize(
    "jwks",
    [{"keys": []}, {"keys": "none"}, {}, {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}],
)
def test_jwks_without_a_usable_signing_key_is_unavailable(
    jwks: Any, idp: FakeIdp, directory: ProviderDirectory
) -> None:
    idp.jwks = jwks
    with pytest.raises(ProviderUnavailable) as caught:
        directory.keys()
    assert caught.value.reason == "malformed_jwks"


def test_a_new_jwks_uri_is_followed_at_once(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    directory.keys()
    clock.advance(301)
    idp.discovery["jwks_uri"] = f"{ISSUER}/keys/v2"
    idp.jwks = _jwks("key-2")

    assert kids(directory.keys()) == ["key-2"]
    assert idp.requests[f"{ISSUER}/keys/v2"] == 1


# -- refresh ---------------------------------------------------------------------------------


def test_refresh_fetches_the_jwks_at_most_once_per_interval(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    directory.keys()
    idp.jwks = _jwks("key-1", "key-2")

    refreshed = directory.refresh()
    assert refreshed is not None
    assert kids(refreshed) == ["key-1", "key-2"]
    assert kids(directory.keys()) == ["key-1", "key-2"]

    clock.advance(29)
    assert directory.refresh() is None
    assert idp.requests[JWKS] == 2

    clock.advance(1)
    assert directory.refresh() is not None
    assert idp.requests[JWKS] == 3


def test_failed_refresh_keeps_serving_the_cached_keys(
    idp: FakeIdp, directory: ProviderDirectory
) -> None:
    directory.keys()
    idp.jwks = {"keys": []}

    assert directory.refresh() is None
    assert kids(directory.keys()) == ["key-1"]
    assert directory.status()["keys"] == "stale"
    assert idp.requests[JWKS] == 2


def test_refresh_without_discovery_returns_nothing(
    idp: FakeIdp, directory: ProviderDirectory
) -> None:
    idp.failure = down
    assert directory.refresh() is None


def test_validator_picks_up_rotated_keys_through_the_directory(
    idp: FakeIdp, clock: Clock, directory: ProviderDirectory
) -> None:
    options: dict[str, Any] = {"policy": POLICY, "nonce": NONCE, "keys": directory, "now": NOW}
    assert id_token_claims(mint(), **options)["sub"] == SUBJECT

    idp.jwks = _jwks("key-1", "key-2")
    assert id_token_claims(mint(kid="key-2"), **options)["sub"] == SUBJECT
    assert idp.requests[JWKS] == 2
    # Both keys are cached now: neither needs another fetch.
    id_token_claims(mint(kid="key-1"), **options)
    id_token_claims(mint(kid="key-2"), **options)
    assert idp.requests[JWKS] == 2


# -- threads ---------------------------------------------------------------------------------


def test_threads_sharing_a_cold_directory_fetch_once(idp: FakeIdp, clock: Clock) -> None:
    directory = ProviderDirectory(
        ISSUER, http=httpx.Client(transport=httpx.MockTransport(idp)), clock=clock
    )
    start = threading.Barrier(8, timeout=5)
    results: list[int] = []

    def work() -> None:
        start.wait()
        results.append(len(directory.keys().keys))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)

    assert results == [1] * 8
    assert idp.requests == Counter({DISCOVERY: 1, JWKS: 1})
