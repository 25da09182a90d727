"""Indexes measured missing at scale (docs/performance.md, "Reports at scale").

- The default sort, newest sign-in first with accounts that never signed in last, is
  `last_sign_in_at DESC NULLS LAST, id DESC`. PostgreSQL reads an ascending index backwards as
  `DESC NULLS FIRST`, so `(last_sign_in_at, id)` could not serve it: every first page sorted the
  whole table. These two indexes have that exact order (PostgreSQL only: SQLite sorts NULLs
  first in ascending order, so its backward scan of the existing index is already this order,
  and SQLite accepts no NULLS clause in an index). The status filter gets the same order per
  status, so a filtered page reads its rows in order and stops at the page's end instead of
  sorting every account of that status.
- The event viewer's account filter matches the sign-in name or the email address; without an
  index on `email` the OR read every account.
"""

from django.db import migrations

POSTGRESQL_INDEXES = {
    "admin_account_recent": "(last_sign_in_at DESC NULLS LAST, id DESC)",
    "admin_account_org_recent": "(org_id, last_sign_in_at DESC NULLS LAST, id DESC)",
    "admin_account_status_recent": "(last_status, last_sign_in_at DESC NULLS LAST, id DESC)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns in POSTGRESQL_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON accounts_account {columns}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in POSTGRESQL_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("administration", "0001_report_indexes")]

    operations = [
        migrations.RunPython(create, drop),
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS admin_account_email ON accounts_account (email)",
            reverse_sql="DROP INDEX IF EXISTS admin_account_email",
        ),
    ]
