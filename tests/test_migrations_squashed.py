"""The report indexes squashed into accounts/0002: a fresh database and one migrated before the
squash (every existing deployment) end with the same schema, and the second runs nothing.

Each path is a real `aidial-portal migrate` on a database of its own: SQLite files, or, when the
suite runs on PostgreSQL, two scratch databases beside the test database."""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tests.support.servers import REPO_ROOT, portal_command, portal_env

SQUASH = ("accounts", "0002_report_indexes_squashed_0003")
REPLACED = {
    ("administration", "0001_report_indexes"),
    ("accounts", "0002_adopt_report_indexes"),
    ("administration", "0002_report_recent_and_email_indexes"),
    ("accounts", "0003_adopt_recent_and_email_indexes"),
}
BEFORE_SQUASH = "tests.migrations_before_squash.settings"
NEWEST_FIRST_ON_POSTGRESQL = "(last_sign_in_at DESC NULLS LAST, id DESC)"

Schema = dict[str, str]


class ScratchDatabase:
    """A new, empty database of the suite's kind, migrated by the portal's own command."""

    def __init__(self, url: str, schema: Callable[[], Schema], applied: Callable[[], set]):
        self.url, self.schema, self.applied = url, schema, applied

    def migrate(self, tmp_path: Path, *args: str, settings: str | None = None) -> str:
        env = portal_env(tmp_path, "http://127.0.0.1:8000", AIDIAL_DATABASE_URL=self.url)
        if settings:
            env["DJANGO_SETTINGS_MODULE"] = settings
        done = subprocess.run(
            [*portal_command(), *(args or ("migrate", "--no-input"))],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


def _sqlite(path: Path) -> ScratchDatabase:
    def query(sql: str) -> list[tuple[str, ...]]:
        with sqlite3.connect(path) as db:
            return db.execute(sql).fetchall()

    return ScratchDatabase(
        f"sqlite:///{path}",
        # SQLite keeps each statement as written: plain SQL had no quotes around names.
        lambda: {
            f"{kind} {name}": (sql or "").replace('"', "")
            for kind, name, sql in query("SELECT type, name, sql FROM sqlite_master")
        },
        lambda: set(query("SELECT app, name FROM django_migrations")),
    )


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[str], ScratchDatabase]]:
    created: list[str] = []
    server = connection.settings_dict

    def make(label: str) -> ScratchDatabase:
        if connection.vendor == "sqlite":
            return _sqlite(tmp_path / f"{label}.sqlite3")
        import psycopg

        name = f"{server['NAME']}_{label}_{uuid.uuid4().hex[:8]}"
        url = f"postgresql://{server['USER']}@{server['HOST']}:{server['PORT']}/{name}"
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        created.append(name)

        def query(sql: str) -> list[tuple[str, ...]]:
            with psycopg.connect(url) as db:
                return db.execute(sql).fetchall()

        return ScratchDatabase(
            url,
            lambda: dict(
                query(
                    "SELECT tablename || ' ' || indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = 'public'"
                )
            ),
            lambda: set(query("SELECT app, name FROM django_migrations")),
        )

    yield make
    for name in created:
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _report_indexes(schema: Schema) -> Schema:
    return {name: sql for name, sql in schema.items() if "admin_account_" in name}


@pytest.mark.django_db
def test_a_fresh_database_gets_every_report_index_from_the_accounts_app(new_database, tmp_path):
    fresh = new_database("fresh")
    fresh.migrate(tmp_path)
    indexes = _report_indexes(fresh.schema())
    assert len(indexes) == 10
    assert SQUASH in fresh.applied()
    if connection.vendor == "postgresql":
        assert NEWEST_FIRST_ON_POSTGRESQL in indexes["accounts_account admin_account_recent"]


@pytest.mark.django_db
def test_a_database_migrated_before_the_squash_runs_nothing_and_matches_a_fresh_one(
    new_database, tmp_path
):
    fresh, existing = new_database("fresh"), new_database("existing")
    fresh.migrate(tmp_path)
    existing.migrate(tmp_path, settings=BEFORE_SQUASH)
    assert existing.applied() >= REPLACED
    assert SQUASH not in existing.applied()
    before = existing.schema()

    plan = existing.migrate(tmp_path, "migrate", "--no-input", "--plan")
    # Nothing of the squash runs again: only migrations added after it, if any.
    assert "report_indexes" not in plan
    assert "admin_account" not in plan
    existing.migrate(tmp_path)

    after = existing.schema()
    assert after == fresh.schema()
    # Every index that was there is untouched (later migrations may add columns and tables).
    indexes = {name: sql for name, sql in before.items() if not name.startswith("table ")}
    assert {name: after[name] for name in indexes} == indexes
    assert SQUASH in existing.applied()  # Django records the squash as applied
    shown = existing.migrate(tmp_path, "showmigrations", "accounts")
    assert "[X] 0002_report_indexes_squashed_0003" in shown
    assert "[X] 0004_role_grants" in shown


def test_later_migrations_keep_depending_on_role_grants():
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    plan = graph.forwards_plan(("accounts", "0004_role_grants"))
    assert SQUASH in plan
    assert not REPLACED & set(graph.nodes)
