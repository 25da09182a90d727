"""``python -m local_idp <command>``: serve the provider, or manage its users and clients.

Commands that report print exactly one JSON object on stdout; diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from local_idp import config

EXIT_USAGE = 2
EXIT_FAILED = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_idp",
        description="Local Zitadel-compatible identity provider (development and tests only).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate the database, then serve over HTTP")
    serve.add_argument("--host", default=config.DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=config.DEFAULT_PORT)
    serve.add_argument(
        "--allow-remote", action="store_true", help="allow binding to a non-loopback address"
    )

    add_user = commands.add_parser("add-user", help="create a user")
    add_user.add_argument("--login", required=True)
    add_user.add_argument("--password", required=True)
    add_user.add_argument("--role", action="append", default=[], dest="roles")
    add_user.add_argument("--org")
    add_user.add_argument("--totp", action="store_true", help="also set up TOTP")

    add_client = commands.add_parser("add-client", help="register an OIDC client")
    add_client.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
    add_client.add_argument("--post-logout-uri", action="append", default=[], dest="logout_uris")
    add_client.add_argument("--public", action="store_true", help="no secret; PKCE required")

    commands.add_parser("service-token", help="issue a personal access token of the service user")

    seed = commands.add_parser("seed-demo", help="create (or refresh) the demo accounts")
    seed.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    seed.add_argument("--post-logout-uri", action="append", default=[], dest="logout_uris")

    demo_code = commands.add_parser("demo-code", help="the current TOTP code of a demo account")
    demo_code.add_argument("--login", required=True)

    rotate = commands.add_parser("rotate-key", help="sign with a new key from now on")
    rotate.add_argument(
        "--grace",
        type=int,
        default=int(timedelta(days=1).total_seconds()),
        help="seconds the previous public key stays in the JWKS (default: one day)",
    )
    return parser


def _setup_django() -> None:
    # The provider's own settings, whatever the calling environment (e.g. the portal) set.
    os.environ["DJANGO_SETTINGS_MODULE"] = "local_idp.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False, stdout=io.StringIO())


def _report(result: dict[str, Any]) -> int:
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


def _run(args: argparse.Namespace) -> int:
    from local_idp import provisioning

    if args.command == "add-user":
        return _report(
            provisioning.add_user(args.login, args.password, args.roles, args.org, totp=args.totp)
        )
    if args.command == "add-client":
        return _report(
            provisioning.add_client(args.redirect_uris, args.logout_uris, public=args.public)
        )
    if args.command == "service-token":
        return _report({"token": provisioning.service_token()})
    if args.command == "seed-demo":
        return _report(provisioning.seed_demo(args.redirect_uris, args.logout_uris))
    if args.command == "demo-code":
        return _report({"code": provisioning.demo_code(args.login)})
    if args.command == "rotate-key":
        from local_idp import keys

        return _report(keys.rotate(timedelta(seconds=max(args.grace, 0))))
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        if args.host not in config.LOOPBACK_HOSTS and not args.allow_remote:
            sys.stderr.write(
                f"refusing to listen on {args.host}: this provider is for development and tests; "
                "pass --allow-remote to bind to a non-loopback address\n"
            )
            return EXIT_USAGE
        if args.allow_remote:
            os.environ.setdefault("AIDIAL_IDP_ALLOWED_HOSTS", "*")
    _setup_django()
    if args.command == "serve":
        from local_idp import server

        return server.serve(args.host, args.port)

    from local_idp.provisioning import ProvisioningError

    try:
        return _run(args)
    except ProvisioningError as error:
        sys.stderr.write(f"error: {error}\n")
        return EXIT_FAILED
