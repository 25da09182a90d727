"""`make run`: migrate, seed the demo accounts, and run the local provider and the portal
together until Ctrl-C. Nothing here is for production."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[1]
VAR = CHECKOUT / "var"
BIN = Path(sys.executable).parent
PORTAL = "http://127.0.0.1:8000"
PROVIDER = "http://127.0.0.1:8080"
STOP_TIMEOUT = 5.0  # seconds both servers get, together, to stop before they are killed


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
    # The portal as an Actions v2 target (user, role and authenticator changes reach it
    # signed); a new signing key each run, handed to the portal below.
    target = cli("idp", "add-target", "--url", PORTAL + "/zitadel/events/", env=env)
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
        "AIDIAL_ZITADEL_ACTIONS_SIGNING_KEY": target["signingKey"],
        "AIDIAL_WORKERS": env.get("AIDIAL_WORKERS", "2"),
    }
    # Ctrl-C and SIGTERM both stop everything, even when this was started with SIGINT ignored
    # (a background job of a non-interactive shell). Each server runs in a process group of its
    # own, so Ctrl-C at the terminal reaches only this script, which then signals each server
    # once: gunicorn's workers deadlock when the terminal's SIGINT and their master's SIGQUIT
    # arrive together, and then outlive the master, still holding port 8000.
    signal.signal(signal.SIGINT, _stop_requested)
    signal.signal(signal.SIGTERM, _stop_requested)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(
            subprocess.Popen(  # noqa: S603
                [str(BIN / "aidial-portal"), "idp", "serve", "--port", "8080"],
                env=env,
                start_new_session=True,
            )
        )
        sync_directory(portal_env)
        processes.append(
            subprocess.Popen(  # noqa: S603
                [str(BIN / "aidial-portal"), "serve", "--port", "8000"],
                env=portal_env,
                start_new_session=True,
            )
        )
        # Zitadel tells a target of a grant when it is made; these were made before the
        # portal listened, so the provider announces them now that it does.
        if wait_until_ready(PORTAL + "/healthz"):
            cli("idp", "announce-grants", env=env)
        else:
            print(
                "The portal did not answer within 30 s: role removals reach it only after "
                "`.venv/bin/aidial-portal idp announce-grants`.",
                flush=True,
            )
        print_welcome(seed)
        wait_for_first_exit()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the stop
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\n" + stop(processes), flush=True)
    return 0


def wait_until_ready(url: str, timeout: float = 30.0) -> bool:
    """Poll `url` until it answers 200 (or `timeout` seconds pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def sync_directory(env: dict[str, str], wait: float = 30.0) -> None:
    """Once the provider answers, one `directory sync`, so that the report shows the people
    who never sign in too. A failed sync is reported, and the portal starts anyway."""
    import httpx  # the portal's own dependency, installed by `make run`

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            httpx.get(PROVIDER + "/.well-known/openid-configuration", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    done = subprocess.run(  # noqa: S603 - our own command
        [str(BIN / "aidial-portal"), "directory", "sync"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    print((done.stdout or done.stderr).strip(), flush=True)


def _stop_requested(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def wait_for_first_exit() -> None:
    """Block until either server exits (without reaping it, so Popen still sees its status)."""
    os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)


def stop(processes: list[subprocess.Popen[bytes]], timeout: float = STOP_TIMEOUT) -> str:
    """Stop every server at once (SIGINT: gunicorn's quick shutdown, the provider's Ctrl-C),
    give them `timeout` seconds together, then kill what is left of each one's process group
    (gunicorn's workers too). Says what happened."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + timeout
    killed = 0
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            killed += 1
            _kill_group(process.pid)
            process.wait()
        else:
            if _kill_group(process.pid):  # it exited, but left a worker behind
                killed += 1
    if killed:
        return (
            f"Stopped the portal and the local identity provider ({killed} did not stop "
            f"within {timeout:g} s and had to be killed)."
        )
    return "Stopped the portal and the local identity provider."


def _kill_group(pgid: int) -> bool:
    """SIGKILL whatever is left in a server's process group; whether anything was."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


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
    if seed.get("directory_only"):
        lines += ["", "People who never sign in (brought in by `aidial-portal directory sync`):"]
        for person in seed["directory_only"]:
            held = f"{person['role']} ({person['org']})"
            lines.append(f"  {person['login']:<36} {person['state']:<14} {held}")
    lines += [
        "",
        "For a TOTP account, get its current code with:",
        "  .venv/bin/aidial-portal idp demo-code --login LOGIN",
        f"(its secret and recovery codes are in {seed['demo_file']}, readable only by you)",
        "SMS and e-mail codes are not sent; read them with:",
        "  .venv/bin/aidial-portal idp outbox --login LOGIN",
        "",
        "Press Ctrl-C to stop both.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
