"""`aidial-portal serve` fails safe: a configuration the system checks refuse never starts.

Each case runs the real command in a subprocess and reads what an operator would see."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.idp import _free_loopback_port
from tests.support.servers import REPO_ROOT, portal_command, portal_env, start_portal

START_UP_TIMEOUT = 60


def serve(tmp_path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = portal_env(tmp_path, f"http://127.0.0.1:{_free_loopback_port()}", **variables)
    return subprocess.run(
        [*portal_command(), "serve", "--port", str(_free_loopback_port()), "--workers", "1"],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=START_UP_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"AIDIAL_ROLE_POLICY": "client_admin:sometimes"},
            "(aidial.E004) AIDIAL_ROLE_POLICY gives role 'client_admin' the unknown "
            "requirement 'sometimes'.",
        ),
        (
            {"AIDIAL_ROLE_POLICY": "client_admin"},
            "(aidial.E004) AIDIAL_ROLE_POLICY gives role 'client_admin' the unknown "
            "requirement ''.",
        ),
        ({"AIDIAL_SECRET_KEY": ""}, "(aidial.E001) AIDIAL_SECRET_KEY is not set."),
        (
            {"AIDIAL_PROVIDER_SECURITY_URL": "https://evil.example/security"},
            "(aidial.E003) AIDIAL_PROVIDER_SECURITY_URL",
        ),
        ({"AIDIAL_MFA_MAX_AGE": "twelve hours"}, "AIDIAL_MFA_MAX_AGE must be a whole number"),
        ({"AIDIAL_MFA_EVIDENCE": "cookies"}, "AIDIAL_MFA_EVIDENCE must be 'session' or 'amr'"),
        ({"AIDIAL_TRUST_PROXY": "perhaps"}, "AIDIAL_TRUST_PROXY must be 1 or 0"),
        ({"AIDIAL_DATABASE_URL": "mysql://db/portal"}, "AIDIAL_DATABASE_URL must start with"),
    ],
)
def test_serve_refuses_to_start_with_the_checks_own_message_and_no_traceback(
    tmp_path, variables, message
):
    result = serve(tmp_path, **variables)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Booting worker" not in result.stderr + result.stdout  # gunicorn never started


def test_serve_starts_with_a_good_configuration(tmp_path):
    server = start_portal(tmp_path, AIDIAL_ROLE_POLICY="client_admin:required")
    try:
        assert server.process is not None
        assert server.process.poll() is None
    finally:
        server.stop()
