"""Indexes for the compliance report's filters and keyset sorts, on the accounts table.

The report pages by (sort column, id) with a LIMIT, scoped by organisation for partner and
client administrators; these composite indexes make each page one range scan. They belong to
the report's queries, so they live with the report, as plain SQL that SQLite and PostgreSQL
both accept (the accounts app's model state is untouched).
"""

from django.db import migrations

INDEXES = {
    "admin_account_sign_in": "(last_sign_in_at, id)",
    "admin_account_org_sign_in": "(org_id, last_sign_in_at, id)",
    "admin_account_domain": "(org_domain, id)",
    "admin_account_login": "(login_name, id)",
    "admin_account_org_login": "(org_id, login_name, id)",
    "admin_account_status": "(last_status, id)",
}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON accounts_account {columns}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, columns in INDEXES.items()
    ]
