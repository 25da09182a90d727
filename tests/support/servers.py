"""The portal as a real server on loopback, wired to a local provider started the same way.

`start_stack(data_dir)` is what a browser test needs: a provider whose "Back to AiDial Portal"
link points at the portal's Settings, a client registered for the portal's callback, and the
portal under gunicorn (`aidial-portal serve`) with its own freshly migrated SQLite database.
Nothing here sleeps for a fixed time: start-up polls `/healthz` until it answers or a deadline
passes, and a process that exits early fails at once with its log.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aidial_portal.config import DEFAULT_RATE_LIMITS
from tests.support.idp import (
    LocalIdp,
    free_loopback_port,
    start_local_idp,
    stop_process,
    wait_until_answering,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATE_TIMEOUT = 120.0
# Variables of the surrounding run that must not leak into a server with its own database.
_NOT_INHERITED = ("DJANGO_SETTINGS_MODULE", "AIDIAL_REDIS_URL", "AIDIAL_REQUIRE_SERVICES")


class PortalError(RuntimeError):
    """The portal could not be migrated or started."""


@dataclass
class PortalServer:
    base_url: str
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class Stack:
    """A provider and the portal wired to it."""

    idp: LocalIdp
    portal: PortalServer
    registration: dict[str, Any]

    def stop(self) -> None:
        self.portal.stop()
        self.idp.stop()


def portal_command() -> list[str]:
    """`aidial-portal` from this virtualenv, or the same entry point through the interpreter."""
    script = Path(sys.executable).with_name("aidial-portal")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "aidial_portal.cli"]


UNLIMITED = {f"AIDIAL_RATE_LIMIT_{name.upper()}": "1000000/m" for name in DEFAULT_RATE_LIMITS}


def portal_env(data_dir: Path, base_url: str, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    # Many tests sign in from 127.0.0.1 against one server within a minute: the rate limits
    # are tested on their own (tests/web/test_rate_limits.py), and pass `variables` to apply.
    env.update(UNLIMITED)
    env.update(
        {
            "AIDIAL_BASE_URL": base_url,
            "AIDIAL_SECRET_KEY": secrets.token_urlsafe(50),
            "AIDIAL_DATA_DIR": str(data_dir),
            "AIDIAL_DATABASE_URL": f"sqlite:///{data_dir / 'portal.sqlite3'}",
            "AIDIAL_LOG_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(variables)
    return env


def start_portal(data_dir: Path, *, port: int | None = None, **variables: str) -> PortalServer:
    """Migrate a new SQLite database, start `aidial-portal serve` and wait for `/healthz`.

    `variables` are AIDIAL_* settings (for example `AIDIAL_STEP_UP_MAX_AGE="5"`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_loopback_port()
    base_url = f"http://127.0.0.1:{port}"
    env = portal_env(data_dir, base_url, **variables)
    log_path = data_dir / "portal.log"
    migrate = subprocess.run(
        [*portal_command(), "migrate", "--no-input", "--verbosity", "0"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT,
        check=False,
    )
    if migrate.returncode != 0:
        raise PortalError(f"`aidial-portal migrate` failed:\n{migrate.stdout}\n{migrate.stderr}")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                *portal_command(),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = PortalServer(base_url, data_dir, log_path, env, process)
    wait_until_answering(
        server.url("/healthz"), process, log_path, name="the portal", error=PortalError
    )
    return server


def start_stack(data_dir: Path, **variables: str) -> Stack:
    """A provider and a portal on free loopback ports, each pointing at the other."""
    port = free_loopback_port()
    base_url = f"http://127.0.0.1:{port}"
    idp = start_local_idp(data_dir / "idp", return_url=base_url + "/settings/")
    try:
        registration = idp.add_client(
            base_url + "/oidc/callback/", post_logout_uri=base_url + "/signed-out/"
        )
        service_token = idp.service_token()
        portal = start_portal(
            data_dir / "portal",
            port=port,
            AIDIAL_OIDC_ISSUER=idp.issuer,
            AIDIAL_OIDC_CLIENT_ID=registration["client_id"],
            AIDIAL_OIDC_CLIENT_SECRET=registration["client_secret"],
            AIDIAL_ZITADEL_PROJECT_ID=registration["project_id"],
            AIDIAL_ZITADEL_SERVICE_TOKEN=service_token,
            **variables,
        )
    except BaseException:
        idp.stop()
        raise
    return Stack(idp=idp, portal=portal, registration=registration)
