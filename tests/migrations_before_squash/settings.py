"""The portal's settings with the migrations of before the squash (see __init__.py)."""

from aidial_portal.settings import *  # noqa: F403

MIGRATION_MODULES = {
    "accounts": "tests.migrations_before_squash.accounts",
    "administration": "tests.migrations_before_squash.administration",
}
