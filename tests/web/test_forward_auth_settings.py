"""Forward auth's settings: typed, checked at start-up, and the session cookie they share."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from aidial_portal.config import ConfigError, from_env


def cookie_settings(**env: str) -> str:
    """The session cookie's attributes as a fresh process with this environment sets them."""
    code = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.SESSION_COOKIE_DOMAIN, settings.SESSION_COOKIE_SECURE, "
        "settings.SESSION_COOKIE_HTTPONLY, settings.SESSION_COOKIE_SAMESITE)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "aidial_portal.settings",
            "AIDIAL_SECRET_KEY": "tests-only-secret-key-not-for-any-deployment-0123456789",
            "AIDIAL_DATABASE_URL": "sqlite:///:memory:",
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def test_the_session_cookie_is_shared_with_the_services_when_asked():
    shared = cookie_settings(
        AIDIAL_BASE_URL="https://portal.aidial.com.au",
        AIDIAL_SESSION_COOKIE_DOMAIN=".aidial.com.au",
    )
    assert shared == ".aidial.com.au True True Lax"


def test_by_default_the_session_cookie_stays_with_the_portal():
    assert cookie_settings(AIDIAL_BASE_URL="http://127.0.0.1:8000") == "None False True Lax"


def test_forward_auth_hosts_are_read_as_exact_names_and_domains():
    config = from_env({"AIDIAL_FORWARD_AUTH_HOSTS": " Wiki.AiDial.com.au, *.apps.aidial.com.au "})
    assert config.forward_auth_hosts == ("wiki.aidial.com.au", "*.apps.aidial.com.au")
    assert from_env({}).forward_auth_hosts == ()


@pytest.mark.parametrize(
    "value",
    [
        "https://wiki.example.com",
        "wiki.example.com:443",
        "wiki.example.com/path",
        "*",
        "*.com",
        "a.*.example.com",
        "*example.com",
        "wiki example.com",
    ],
)
def test_a_bad_forward_auth_host_stops_start_up_naming_it(value):
    with pytest.raises(ConfigError, match="AIDIAL_FORWARD_AUTH_HOSTS") as refused:
        from_env({"AIDIAL_FORWARD_AUTH_HOSTS": value})
    assert repr(value.strip()) in str(refused.value)


@pytest.mark.parametrize(
    ("domain", "says"),
    [
        (".other.example", "does not hold the portal's host"),
        ("com", "must be a domain name"),
        ("https://aidial.com.au", "must be a domain name"),
    ],
)
def test_a_bad_session_cookie_domain_stops_start_up_naming_it(domain, says):
    with pytest.raises(ConfigError, match="AIDIAL_SESSION_COOKIE_DOMAIN") as refused:
        from_env(
            {
                "AIDIAL_SESSION_COOKIE_DOMAIN": domain,
                "AIDIAL_BASE_URL": "https://portal.aidial.com.au",
            }
        )
    assert says in str(refused.value)
    assert repr(domain) in str(refused.value)


def test_serve_refuses_to_start_on_a_bad_forward_auth_host(tmp_path):
    from tests.support.servers import portal_command

    result = subprocess.run(
        [*portal_command(), "check"],
        env={
            **os.environ,
            "AIDIAL_SECRET_KEY": "tests-only-secret-key-not-for-any-deployment-0123456789",
            "AIDIAL_DATA_DIR": str(tmp_path),
            "AIDIAL_FORWARD_AUTH_HOSTS": "https://wiki.example.com",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "AIDIAL_FORWARD_AUTH_HOSTS: 'https://wiki.example.com' is not a host name" in (
        result.stderr + result.stdout
    )
    assert "Traceback" not in result.stderr
