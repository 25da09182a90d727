"""The compliance report's indexes, now declared on `Account.Meta.indexes`.

administration/0001 created them as plain SQL that Django's migration state could not see; that
migration has run wherever this one runs (it is a dependency), so the indexes exist and this
migration only records them in the state, under the same names and columns. Later changes to
them are ordinary index operations.
"""

from django.db import migrations, models

INDEXES = [
    models.Index(fields=["last_sign_in_at", "id"], name="admin_account_sign_in"),
    models.Index(fields=["org_id", "last_sign_in_at", "id"], name="admin_account_org_sign_in"),
    models.Index(fields=["org_domain", "id"], name="admin_account_domain"),
    models.Index(fields=["login_name", "id"], name="admin_account_login"),
    models.Index(fields=["org_id", "login_name", "id"], name="admin_account_org_login"),
    models.Index(fields=["last_status", "id"], name="admin_account_status"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("administration", "0001_report_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="account", index=index) for index in INDEXES
            ],
            database_operations=[],
        )
    ]
