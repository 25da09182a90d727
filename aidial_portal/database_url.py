"""`AIDIAL_DATABASE_URL` → Django's DATABASES entry (SQLite or PostgreSQL through psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from aidial_portal.config import ConfigError


def _sqlite(name: str) -> dict[str, Any]:
    # IMMEDIATE: a transaction takes the write lock when it starts, so two requests changing
    # the same markers queue up instead of both reading the old state (SQLite has no row locks).
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }


def parse_database_url(url: str, *, default_sqlite: Path) -> dict[str, Any]:
    if not url:
        return _sqlite(str(default_sqlite))
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/or/absolute, sqlite:////abs/path
        name = unquote(parts.path[1:] if parts.path.startswith("//") else parts.path)
        return _sqlite(name or str(default_sqlite))
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": dict(parse_qsl(parts.query)),
        }
    raise ConfigError("AIDIAL_DATABASE_URL must start with sqlite:// or postgresql://")
