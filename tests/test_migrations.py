"""Migrations: Django's state matches the models, and indexes are declared, never raw SQL."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.test.utils import CaptureQueriesContext

from aidial_portal import migration_operations

PACKAGE = Path(migration_operations.__file__).resolve().parent
# Written before indexes were declared on the models; accounts/0002 adopts its indexes.
LEGACY_RAW_SQL = {"administration/migrations/0001_report_indexes.py"}
REPORT_INDEXES = {
    "admin_account_sign_in": ["last_sign_in_at", "id"],
    "admin_account_org_sign_in": ["org_id", "last_sign_in_at", "id"],
    "admin_account_domain": ["org_domain", "id"],
    "admin_account_login": ["login_name", "id"],
    "admin_account_org_login": ["org_id", "login_name", "id"],
    "admin_account_status": ["last_status", "id"],
}


def _account_indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "accounts_account")
    return {name: c["columns"] for name, c in constraints.items() if c["index"]}


@pytest.mark.django_db
def test_migration_state_matches_the_models() -> None:
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


def test_no_new_migration_runs_raw_sql() -> None:
    raw = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.glob("*/migrations/*.py")
        if "RunSQL" in path.read_text()
    }
    assert raw <= LEGACY_RAW_SQL


@pytest.mark.django_db
def test_report_indexes_exist_under_the_names_the_model_declares() -> None:
    indexes = _account_indexes()
    for name, columns in REPORT_INDEXES.items():
        assert indexes.get(name) == columns, name


@pytest.mark.django_db(transaction=True)
def test_concurrent_index_operations_build_and_drop_an_index() -> None:
    loader = MigrationLoader(connection)
    state: ProjectState = loader.project_state(loader.graph.leaf_nodes("accounts")[0])
    index = models.Index(fields=["email"], name="test_account_email")
    add = migration_operations.AddIndexConcurrently(model_name="account", index=index)
    remove = migration_operations.RemoveIndexConcurrently(
        model_name="account", name="test_account_email"
    )
    indexed = state.clone()
    add.state_forwards("accounts", indexed)
    concurrently = connection.vendor == "postgresql"

    with (
        CaptureQueriesContext(connection) as created,
        connection.schema_editor(atomic=False) as editor,
    ):
        add.database_forwards("accounts", editor, state, indexed)
    try:
        assert _account_indexes()["test_account_email"] == ["email"]
        assert any("CONCURRENTLY" in q["sql"] for q in created) is concurrently
    finally:
        with (
            CaptureQueriesContext(connection) as dropped,
            connection.schema_editor(atomic=False) as editor,
        ):
            remove.database_forwards("accounts", editor, indexed, state)
    assert "test_account_email" not in _account_indexes()
    assert any("CONCURRENTLY" in q["sql"] for q in dropped) is concurrently
