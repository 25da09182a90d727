"""The signed-in pages' read of their account: name and lifecycle markers, fresh every request.

The dashboard and Settings read the account on every request, so that a marker changed on
another device (codes confirmed, a reminder answered) shows on the next one. Through the ORM
that one primary-key read cost more than Django's whole bare page: building and compiling the
same query each time and converting all 26 columns. Here the query is compiled once per
database connection (the ORM still writes its SQL and the backend's value converters), and each
request only runs it: one statement with one parameter, the same freshness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from aidial_portal.accounts.models import MARKER_FIELDS, Account, markers_from
from aidial_portal.mfa.lifecycle import Markers

FIELDS = ("display_name", "login_name", "email", *MARKER_FIELDS)


@dataclass(frozen=True, slots=True)
class AccountSummary:
    display_name: str
    login_name: str
    email: str
    markers: Markers


class _CompiledRead:
    """The read's SQL and value converters for one connection (they depend on its backend)."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        query = Account.objects.filter(pk=0).values_list(*FIELDS).query
        self.compiler = query.get_compiler(connection=connection)
        self.sql, _ = self.compiler.as_sql()
        self.converters = self.compiler.get_converters(
            [expression for expression, _, _ in self.compiler.select]
        )


# Kept on the connection object itself (one per thread and alias), so that it goes when the
# connection object goes: the compiled read refers to its connection.
_ATTRIBUTE = "_aidial_account_summary_read"


def read(pk: int, using: str = DEFAULT_DB_ALIAS) -> AccountSummary:
    """The account `pk`'s summary; `Account.DoesNotExist` when there is none, as `get` says."""
    connection = connections[using]
    compiled: _CompiledRead | None = getattr(connection, _ATTRIBUTE, None)
    if compiled is None:
        compiled = _CompiledRead(connection)
        setattr(connection, _ATTRIBUTE, compiled)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, [pk])
        row: Any = cursor.fetchone()
    if row is None:
        raise Account.DoesNotExist(f"no account {pk}")
    if compiled.converters:
        row = next(iter(compiled.compiler.apply_converters([row], compiled.converters)))
    values = dict(zip(FIELDS, row, strict=True))
    return AccountSummary(
        display_name=values["display_name"],
        login_name=values["login_name"],
        email=values["email"],
        markers=markers_from(values),
    )
