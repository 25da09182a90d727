"""The portal's Redis cache (aidial_portal/sessions/backends/redis_cache.py): Django's, with one
Redis client per connection pool, which must keep working when Redis drops its connections."""

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from aidial_portal.sessions.backends.redis_cache import RedisCache

LOCATION = "redis://127.0.0.1:6379/13"


@pytest.fixture
def cache() -> Iterator[RedisCache]:
    name = f"aidial-cache-test-{secrets.token_hex(4)}"
    backend = RedisCache(LOCATION, {"KEY_PREFIX": name, "OPTIONS": {"client_name": name}})
    try:
        backend.get("ping")
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield backend
    backend.delete_many(["kept", *(f"thread-{n}" for n in range(8))])


def _drop_connections_named(name: str) -> int:
    admin = redis.Redis.from_url(LOCATION)
    dropped = 0
    for client in admin.client_list():
        if client.get("name") == name:
            dropped += admin.client_kill_filter(_id=client["id"])
    return dropped


def test_one_client_serves_reads_and_writes(cache):
    cache.set("kept", "value")
    assert cache._cache.get_client(write=False) is cache._cache.get_client(write=True)
    assert cache.get("kept") == "value"


def test_reads_go_on_after_redis_drops_every_connection(cache):
    cache.set("kept", "value")
    assert _drop_connections_named(cache._options["client_name"]) >= 1
    assert cache.get("kept") == "value"
    cache.set("kept", "again")
    assert cache.get("kept") == "again"


def test_threads_share_the_client_without_mixing_answers(cache):
    def round_trip(number: int) -> list[object]:
        answers = []
        for round_ in range(50):
            cache.set(f"thread-{number}", (number, round_))
            answers.append(cache.get(f"thread-{number}"))
        return answers

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(round_trip, range(8)))
    assert results == [[(number, round_) for round_ in range(50)] for number in range(8)]
