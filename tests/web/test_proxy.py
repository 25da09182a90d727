"""Only a proxy the operator trusts (AIDIAL_TRUST_PROXY=1) may say a request came over https."""

import os
import subprocess
import sys

import pytest

from aidial_portal.config import from_env


def proxy_header(**env: str) -> str:
    """SECURE_PROXY_SSL_HEADER as a fresh process with this environment would see it."""
    code = (
        "from django.conf import settings; import django; django.setup(); "
        "print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))"
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


def test_an_https_portal_without_a_trusted_proxy_ignores_x_forwarded_proto():
    assert proxy_header(AIDIAL_BASE_URL="https://portal.example.com") == "None"


def test_a_trusted_proxy_may_say_the_request_came_over_https():
    header = proxy_header(AIDIAL_BASE_URL="https://portal.example.com", AIDIAL_TRUST_PROXY="1")
    assert header == "('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.mark.parametrize("value", ["maybe", "2", "tru"])
def test_a_malformed_trust_proxy_value_is_refused(value):
    with pytest.raises(ValueError, match="AIDIAL_TRUST_PROXY"):
        from_env({"AIDIAL_TRUST_PROXY": value})
