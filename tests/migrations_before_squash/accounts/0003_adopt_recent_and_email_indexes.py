"""The report's newest-first indexes and the email index, now declared on `Account.Meta.indexes`.

administration/0002 created them outside Django's migration state: the three newest-first
indexes on PostgreSQL only, the email index everywhere. This migration records all four in the
state and, on SQLite, creates the three it skipped (in the same order, see
`aidial_portal.indexes.NullsLastIndex`), so that state and database agree on every backend and
Django can later alter or drop them like any other index.
"""

from django.db import migrations, models

from aidial_portal.indexes import NullsLastIndex

NEWEST_FIRST = [
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
]
EMAIL = models.Index(fields=["email"], name="admin_account_email")


def create_where_skipped(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return  # administration/0002 created them
    account = apps.get_model("accounts", "Account")
    for index in NEWEST_FIRST:
        schema_editor.add_index(account, index)


def drop_where_created(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return  # administration/0002 drops them on its way back
    account = apps.get_model("accounts", "Account")
    for index in NEWEST_FIRST:
        schema_editor.remove_index(account, index)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_adopt_report_indexes"),
        ("administration", "0002_report_recent_and_email_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="account", index=index)
                for index in [*NEWEST_FIRST, EMAIL]
            ],
            database_operations=[migrations.RunPython(create_where_skipped, drop_where_created)],
        )
    ]
