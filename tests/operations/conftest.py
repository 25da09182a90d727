"""Production shape: PostgreSQL and Redis on loopback, real servers, and stores that fail.

A store "fails" by closing the TCP proxy the portal reaches it through, which is what a
database or Redis outage looks like to the portal.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
import redis

from tests.support.tcp_proxy import TcpProxy

PG = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
REDIS_DB = 13


def _require(name: str, ok: bool) -> None:
    if ok:
        return
    message = f"{name} is not answering on this machine; these tests need it"
    if os.environ.get("CI") == "true" or os.environ.get("AIDIAL_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


def _answers(address: tuple[str, int]) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(address) == 0


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL database of its own, dropped afterwards; yields its name."""
    _require("PostgreSQL (127.0.0.1:5432)", _answers(PG))
    name = "aidial_ops_" + secrets.token_hex(4)
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def empty_redis_db() -> Iterator[int]:
    _require("Redis (127.0.0.1:6379)", _answers(REDIS))
    client = redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB)
    client.flushdb()
    try:
        yield REDIS_DB
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    with throwaway_postgres() as name:
        yield name


@pytest.fixture
def redis_db() -> Iterator[int]:
    with empty_redis_db() as number:
        yield number


@pytest.fixture
def proxies() -> Iterator[dict[str, TcpProxy]]:
    made = {"postgres": TcpProxy(PG), "redis": TcpProxy(REDIS)}
    yield made
    for proxy in made.values():
        proxy.close()  # closing twice is harmless
