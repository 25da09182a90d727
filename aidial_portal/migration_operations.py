"""Migration operations for indexes on tables that are large and in use.

Declare the index on the model (`Meta.indexes`), let `makemigrations` write the `AddIndex`, then
replace it with `AddIndexConcurrently` from here and set `atomic = False` on the migration:

    class Migration(migrations.Migration):
        atomic = False
        operations = [AddIndexConcurrently(model_name="account", index=models.Index(...))]

On PostgreSQL the index is built with `CREATE INDEX CONCURRENTLY` (no lock that blocks writes);
on SQLite (development, tests) it is a plain `CREATE INDEX`. Django's migration state sees it
like any `AddIndex`, so `makemigrations --check` stays clean. Never `RunSQL` for an index.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres import operations as postgres
from django.db.migrations import AddIndex, RemoveIndex


def _on_postgresql(schema_editor: Any) -> bool:
    return bool(schema_editor.connection.vendor == "postgresql")


class AddIndexConcurrently(postgres.AddIndexConcurrently):
    """`CREATE INDEX CONCURRENTLY` on PostgreSQL, `CREATE INDEX` elsewhere."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if _on_postgresql(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if _on_postgresql(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrently(postgres.RemoveIndexConcurrently):
    """`DROP INDEX CONCURRENTLY` on PostgreSQL, `DROP INDEX` elsewhere."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if _on_postgresql(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if _on_postgresql(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
