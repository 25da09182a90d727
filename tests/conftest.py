"""Shared fixtures. The local provider plugin starts real provider processes on loopback."""

import importlib.util

pytest_plugins = ["tests.support.portal"]
if importlib.util.find_spec("tests.support.idp") is not None:
    pytest_plugins.append("tests.support.idp")
