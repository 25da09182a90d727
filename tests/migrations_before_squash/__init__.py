"""The accounts and administration migrations as they were before the report indexes were
squashed into accounts/0002 (a copy, for the upgrade test in tests/test_migrations_squashed.py):
a database migrated with these is what every existing deployment has."""
