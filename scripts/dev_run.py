"""`make run`: migrate, seed the demo accounts, and run the local provider and the portal
together until Ctrl-C. Nothing here is for production."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[1]
VAR = CHECKOUT / "var"
BIN = Path(sys.executable).parent
PORTAL = "http://127.0.0.1:8000"
PROVIDER = "http://127.0.0.1:8080"


def cli(*args: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own command
        [str(BIN / "aidial-portal"), *args], env=env, check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def secret_key() -> str:
    """A development key kept in the ignored data folder, so sessions survive a restart."""
    path = VAR / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> int:
    VAR.mkdir(exist_ok=True)
    env = {**os.environ, "AIDIAL_IDP_RETURN_URL": PORTAL + "/settings/"}
    subprocess.run(  # noqa: S603 - our own command
        [str(BIN / "aidial-portal"), "migrate", "--verbosity", "0"],
        check=True,
        env={**env, "AIDIAL_SECRET_KEY": "migrate-only"},
    )
    seed = cli(
        "idp",
        "seed-demo",
        "--redirect-uri",
        PORTAL + "/oidc/callback/",
        "--post-logout-uri",
        PORTAL + "/signed-out/",
        "--backchannel-logout-uri",
        PORTAL + "/oidc/backchannel-logout/",
        env=env,
    )
    client = seed["client"]
    portal_env = {
        **env,
        "AIDIAL_SECRET_KEY": secret_key(),
        "AIDIAL_BASE_URL": PORTAL,
        "AIDIAL_OIDC_ISSUER": PROVIDER,
        "AIDIAL_OIDC_CLIENT_ID": client["client_id"],
        "AIDIAL_OIDC_CLIENT_SECRET": client["client_secret"],
        "AIDIAL_OIDC_EXTRA_AUDIENCES": client["project_id"],
        # The portal asks for roles with the project's audience scope (Zitadel's way).
        "AIDIAL_ZITADEL_PROJECT_ID": client["project_id"],
        "AIDIAL_ZITADEL_SERVICE_TOKEN": seed["service_token"],
        "AIDIAL_WORKERS": env.get("AIDIAL_WORKERS", "2"),
    }
    provider = subprocess.Popen(  # noqa: S603
        [str(BIN / "aidial-portal"), "idp", "serve", "--port", "8080"], env=env
    )
    portal = subprocess.Popen(  # noqa: S603
        [str(BIN / "aidial-portal"), "serve", "--port", "8000"], env=portal_env
    )
    print_welcome(seed)
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        portal.wait()
        provider.wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        for process in (portal, provider):
            process.terminate()
        for process in (portal, provider):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        print("\nStopped the portal and the local identity provider.")
    return 0


def print_welcome(seed: dict[str, Any]) -> None:
    lines = [
        "",
        "AiDial Portal (development)",
        f"  Portal:             {PORTAL}/",
        f"  Identity provider:  {PROVIDER}/  (local development provider)",
        "",
        "Demo accounts (password for all: " + seed["accounts"][0]["password"] + ")",
    ]
    for account in seed["accounts"]:
        marker = "TOTP enrolled" if account["totp"] else "no MFA yet"
        grants = account.get("grants") or [
            {"org": account["org"], "role": r} for r in account["roles"]
        ]
        held = ", ".join(f"{g['role']} ({g['org']})" for g in grants)
        lines.append(f"  {account['login']:<36} {marker:<14} {held}")
    lines += [
        "",
        "For a TOTP account, get its current code with:",
        "  .venv/bin/aidial-portal idp demo-code --login LOGIN",
        f"(its secret and recovery codes are in {seed['demo_file']}, readable only by you)",
        "",
        "Press Ctrl-C to stop both.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
