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
from django.db.migrations.operations.base import Operation


class _ConcurrentlyOnPostgreSQL:
    """Do the database steps of `concurrent` on PostgreSQL and of `plain` everywhere else."""

    concurrent: type[Operation]
    plain: type[Operation]

    def _steps(self, schema_editor: Any) -> Any:
        on_postgresql = schema_editor.connection.vendor == "postgresql"
        return self.concurrent if on_postgresql else self.plain

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        steps = self._steps(schema_editor)
        steps.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        steps = self._steps(schema_editor)
        steps.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexConcurrently(_ConcurrentlyOnPostgreSQL, postgres.AddIndexConcurrently):
    """`CREATE INDEX CONCURRENTLY` on PostgreSQL, `CREATE INDEX` elsewhere."""

    concurrent = postgres.AddIndexConcurrently
    plain = AddIndex


class RemoveIndexConcurrently(_ConcurrentlyOnPostgreSQL, postgres.RemoveIndexConcurrently):
    """`DROP INDEX CONCURRENTLY` on PostgreSQL, `DROP INDEX` elsewhere."""

    concurrent = postgres.RemoveIndexConcurrently
    plain = RemoveIndex
