"""`AIDIAL_DATABASE_URL` → Django's DATABASES entry, parsed by dj-database-url.

Only SQLite and PostgreSQL (psycopg 3) are supported. dj-database-url reads the URL; the
portal's own connection options are laid over what it returns:

- SQLite: `sqlite:///relative/path` (relative to the working directory) or
  `sqlite:////absolute/path`; every connection starts its transactions IMMEDIATE and waits up
  to 20 s for the write lock. Each thread keeps its connection for up to a minute
  (`CONN_MAX_AGE`): opening one (and registering Django's SQL functions on it) cost about as much
  CPU as the rest of a dashboard request. An idle SQLite connection holds no lock, and each
  statement outside a transaction sees every committed write, so nothing read is staler.
- PostgreSQL: `postgresql://user:password@host:5432/name?sslmode=require` (query parameters are
  psycopg connection options). With `pool_max_size`, each process keeps a psycopg pool of at
  most that many connections, shared by its threads (Django >= 5.1's `OPTIONS["pool"]`);
  without, each thread keeps its own connection for up to a minute (`CONN_MAX_AGE`). Either
  way a connection is checked before it is used again.

Errors never repeat the URL: it may hold a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from aidial_portal.config import ConfigError

SQLITE_ENGINE = "django.db.backends.sqlite3"
POSTGRESQL_ENGINE = "django.db.backends.postgresql"
SCHEMES = {"sqlite": SQLITE_ENGINE, "postgres": POSTGRESQL_ENGINE, "postgresql": POSTGRESQL_ENGINE}

# IMMEDIATE: a transaction takes the write lock when it starts, so two requests changing the
# same markers queue up instead of both reading the old state (SQLite has no row locks).
SQLITE_OPTIONS = {"transaction_mode": "IMMEDIATE", "timeout": 20}
POSTGRESQL_CONN_MAX_AGE = 60
SQLITE_CONN_MAX_AGE = 60
# How long a request waits for a pooled connection before the database counts as unavailable
# (a 503 page, /readyz failing): longer than any healthy connect, short enough to answer soon.
POOL_TIMEOUT_SECONDS = 5
POOL_MIN_SIZE = 1
# How long the pool keeps retrying one lost connection before it gives up (and the next request
# that finds the pool empty starts a fresh attempt at once). psycopg's default, 300 s, backs off
# 1, 2, 4, 8 ... seconds: after a 5-second outage the portal went on answering 503 for several
# seconds more with the database back (docs/performance.md, "Faults under load").
POOL_RECONNECT_SECONDS = 1.0


def parse_database_url(url: str, *, default_sqlite: Path, pool_max_size: int = 0) -> dict[str, Any]:
    """The `default` database for `url`; an empty URL (or `sqlite://`) means `default_sqlite`.

    `pool_max_size` > 0 pools PostgreSQL connections (per process, per alias); 0 does not.
    """
    if not url:
        return _sqlite_overlay({"ENGINE": SQLITE_ENGINE, "NAME": str(default_sqlite)})
    scheme = url.partition("://")[0].lower()
    if scheme not in SCHEMES:
        raise ConfigError("AIDIAL_DATABASE_URL must start with sqlite:// or postgresql://")
    try:
        parsed: dict[str, Any] = dict(dj_database_url.parse(url))
    except ValueError:
        raise ConfigError(
            "AIDIAL_DATABASE_URL is not a valid URL (write special characters in the user "
            "name or password as %XX)"
        ) from None
    if SCHEMES[scheme] == SQLITE_ENGINE:
        if parsed.get("NAME") in {"", ":memory:"}:
            parsed["NAME"] = str(default_sqlite)
        return _sqlite_overlay(parsed)
    return _postgresql_overlay(parsed, pool_max_size)


def _sqlite_overlay(parsed: dict[str, Any]) -> dict[str, Any]:
    return {
        **parsed,
        "CONN_MAX_AGE": SQLITE_CONN_MAX_AGE,
        "OPTIONS": {**parsed.get("OPTIONS", {}), **SQLITE_OPTIONS},
    }


def _postgresql_overlay(parsed: dict[str, Any], pool_max_size: int) -> dict[str, Any]:
    options = dict(parsed.get("OPTIONS", {}))
    if pool_max_size > 0:
        options["pool"] = {
            "min_size": min(POOL_MIN_SIZE, pool_max_size),
            "max_size": pool_max_size,
            "timeout": POOL_TIMEOUT_SECONDS,
            "reconnect_timeout": POOL_RECONNECT_SECONDS,
            "name": "aidial-portal",
        }
    return {
        **parsed,
        "PORT": str(parsed.get("PORT") or ""),
        # Django refuses persistent connections with a pool: the pool keeps them instead.
        "CONN_MAX_AGE": 0 if pool_max_size > 0 else POSTGRESQL_CONN_MAX_AGE,
        # With a pool: psycopg checks each connection as it leaves the pool.
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
    }
