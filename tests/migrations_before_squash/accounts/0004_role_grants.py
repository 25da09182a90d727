"""The portal's own, with the dependency it had before the squash."""

from importlib import import_module

_today = import_module("aidial_portal.accounts.migrations.0004_role_grants")


class Migration(_today.Migration):
    dependencies = [("accounts", "0003_adopt_recent_and_email_indexes")]
