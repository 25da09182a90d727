"""Index classes for `Meta.indexes` that Django's own do not cover on every database we run."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.expressions import OrderBy


class NullsLastIndex(models.Index):
    """An index in the report's newest-first order: `DESC NULLS LAST` columns.

    PostgreSQL needs the NULLS clause for an index scan to give that order (its DESC puts NULLs
    first). SQLite accepts no NULLS clause in an index and needs none: NULL is its smallest
    value, so a plain DESC already puts NULLs last. The index is the same order on both.
    """

    def __init__(self, *expressions: Any, **kwargs: Any) -> None:
        for expression in expressions:
            if isinstance(expression, OrderBy) and (
                (expression.descending and expression.nulls_first)
                or (not expression.descending and expression.nulls_last)
            ):
                raise ValueError(
                    f"{kwargs.get('name')}: only DESC NULLS LAST (or ASC NULLS FIRST) keeps the "
                    "same order on SQLite"
                )
        super().__init__(*expressions, **kwargs)

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        plain = models.Index(
            *(_without_nulls_clause(expression) for expression in self.expressions),
            name=self.name,
            db_tablespace=self.db_tablespace,
            condition=self.condition,
        )
        return plain.create_sql(model, schema_editor, using=using, **kwargs)


def _without_nulls_clause(expression: Any) -> Any:
    if isinstance(expression, OrderBy):
        return OrderBy(expression.expression, descending=expression.descending)
    return expression
