"""Unchanged by the squash: the portal's own."""

from importlib import import_module

Migration = import_module("aidial_portal.accounts.migrations.0001_initial").Migration
