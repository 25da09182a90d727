"""The compliance report's indexes on the accounts table, all in one place.

The report pages by (sort column, id) with a LIMIT, scoped by organisation for partner and client
administrators, so each page is one range scan; its default sort is newest sign-in first with
never-signed-in accounts last (`NullsLastIndex`: `DESC NULLS LAST` on PostgreSQL, the same order
as a plain `DESC` on SQLite); the event viewer filters accounts by email. See
docs/performance.md.

This squashes four migrations that passed the same indexes between two apps: administration's
0001 and 0002 created them as plain SQL (the newest-first ones on PostgreSQL only), and accounts'
0002 and 0003 adopted them into the model state (creating on SQLite the three administration had
skipped). A fresh database runs the operations below and ends with the same indexes, under the
same names, columns and order. A database that applied all four (every deployment since
accounts/0003) runs nothing: `replaces` makes Django count this migration as applied and record
it. A database that applied only some of them must first be migrated by a release that still
has them.
"""

from django.db import migrations, models

from aidial_portal.indexes import NullsLastIndex

INDEXES = [
    models.Index(fields=["last_sign_in_at", "id"], name="admin_account_sign_in"),
    models.Index(fields=["org_id", "last_sign_in_at", "id"], name="admin_account_org_sign_in"),
    models.Index(fields=["org_domain", "id"], name="admin_account_domain"),
    models.Index(fields=["login_name", "id"], name="admin_account_login"),
    models.Index(fields=["org_id", "login_name", "id"], name="admin_account_org_login"),
    models.Index(fields=["last_status", "id"], name="admin_account_status"),
    NullsLastIndex(
        models.F("last_sign_in_at").desc(nulls_last=True),
        models.F("id").desc(),
        name="admin_account_recent",
    ),
    NullsLastIndex(
        models.F("org_id"),
        models.F("last_sign_in_at").desc(nulls_last=True),
        models.F("id").desc(),
        name="admin_account_org_recent",
    ),
    NullsLastIndex(
        models.F("last_status"),
        models.F("last_sign_in_at").desc(nulls_last=True),
        models.F("id").desc(),
        name="admin_account_status_recent",
    ),
    models.Index(fields=["email"], name="admin_account_email"),
]


class Migration(migrations.Migration):
    replaces = [
        ("administration", "0001_report_indexes"),
        ("accounts", "0002_adopt_report_indexes"),
        ("administration", "0002_report_recent_and_email_indexes"),
        ("accounts", "0003_adopt_recent_and_email_indexes"),
    ]

    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.AddIndex(model_name="account", index=index) for index in INDEXES]
