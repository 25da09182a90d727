"""Migrations: Django's state matches the models, and indexes are declared, never raw SQL."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

import aidial_portal
from aidial_portal.indexes import NullsLastIndex

PACKAGE = Path(aidial_portal.__file__).resolve().parent
RECENT = "admin_account_recent"
REPORT_INDEXES = {
    "admin_account_sign_in": ["last_sign_in_at", "id"],
    "admin_account_org_sign_in": ["org_id", "last_sign_in_at", "id"],
    "admin_account_domain": ["org_domain", "id"],
    "admin_account_login": ["login_name", "id"],
    "admin_account_org_login": ["org_id", "login_name", "id"],
    "admin_account_status": ["last_status", "id"],
    "admin_account_recent": ["last_sign_in_at", "id"],
    "admin_account_org_recent": ["org_id", "last_sign_in_at", "id"],
    "admin_account_status_recent": ["last_status", "last_sign_in_at", "id"],
    "admin_account_email": ["email"],
}


def _account_constraints() -> dict[str, dict[str, Any]]:
    with connection.cursor() as cursor:
        return dict(connection.introspection.get_constraints(cursor, "accounts_account"))


def _account_indexes() -> dict[str, list[str]]:
    return {name: c["columns"] for name, c in _account_constraints().items() if c["index"]}


@pytest.mark.django_db
def test_migration_state_matches_the_models() -> None:
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


def test_no_new_migration_runs_raw_sql() -> None:
    migrations = list(PACKAGE.glob("*/migrations/0*.py"))
    raw = {str(path.relative_to(PACKAGE)) for path in migrations if "RunSQL" in path.read_text()}
    assert len(migrations) > 5  # the check reads the migrations
    assert raw == set()


@pytest.mark.django_db
def test_report_indexes_exist_under_the_names_the_model_declares() -> None:
    indexes = _account_indexes()
    for name, columns in REPORT_INDEXES.items():
        assert indexes.get(name) == columns, name


@pytest.mark.django_db
def test_newest_first_indexes_keep_never_signed_in_accounts_last() -> None:
    recent = _account_constraints()["admin_account_recent"]
    assert recent["orders"] == ["DESC", "DESC"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [RECENT])
            assert "last_sign_in_at DESC NULLS LAST, id DESC" in cursor.fetchone()[0]


def test_an_index_order_sqlite_cannot_keep_is_refused() -> None:
    with pytest.raises(ValueError, match="same order on SQLite"):
        NullsLastIndex(F("last_sign_in_at").desc(nulls_first=True), name="wrong_order")
