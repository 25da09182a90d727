"""Role grants per organisation, backfilled from what the accounts table recorded so far.

Before this, an account kept its roles and one organisation (that of its first grant); the
backfill repeats that claim (each role in that organisation) so that organisation reports keep
listing people until their next sign-in replaces the rows with their real grants.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

BATCH = 2000


def backfill(apps: Any, schema_editor: Any) -> None:
    account_model = apps.get_model("accounts", "Account")
    grant_model = apps.get_model("accounts", "RoleGrant")
    batch: list[Any] = []
    accounts = account_model.objects.exclude(org_id="").only("id", "roles", "org_id", "org_domain")
    for account in accounts.iterator(chunk_size=BATCH):
        roles = account.roles if isinstance(account.roles, list) else []
        batch.extend(
            grant_model(
                account_id=account.id,
                role=role,
                org_id=account.org_id,
                org_domain=account.org_domain,
            )
            for role in dict.fromkeys(roles)
            if isinstance(role, str) and role
        )
        if len(batch) >= BATCH:
            grant_model.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        grant_model.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_report_indexes_squashed_0003"),
    ]

    operations = [
        migrations.CreateModel(
            name="RoleGrant",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("role", models.CharField(max_length=64)),
                ("org_id", models.CharField(max_length=255)),
                ("org_domain", models.CharField(blank=True, max_length=255)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="grants",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["org_id", "account"], name="role_grant_org_account"),
                    models.Index(
                        fields=["org_id", "role", "account"], name="role_grant_org_role_account"
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "org_id", "role"), name="role_grant_account_org_role"
                    )
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
