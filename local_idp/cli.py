"""``python -m local_idp <command>``: serve the provider, or manage its users and clients.

Commands that report print exactly one JSON object on stdout; diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
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
    add_user.add_argument(
        "--role",
        action="append",
        default=[],
        dest="roles",
        help="a role in the user's own organisation (repeatable)",
    )
    add_user.add_argument("--org", help="the user's own organisation (created if missing)")
    add_user.add_argument(
        "--grant",
        action="append",
        default=[],
        dest="grants",
        metavar="ORG:ROLE",
        help="a role in an existing organisation, by name or id (repeatable)",
    )
    add_user.add_argument("--totp", action="store_true", help="also set up TOTP")
    add_user.add_argument(
        "--otp-sms", metavar="PHONE", default="", help="also set up codes by SMS to PHONE"
    )
    add_user.add_argument("--otp-email", action="store_true", help="also set up codes by e-mail")
    add_user.add_argument(
        "--passkey",
        action="store_true",
        help="also mark a passkey (a simulated WebAuthn check with user verification)",
    )
    add_user.add_argument(
        "--security-key",
        action="store_true",
        help="also mark a U2F security key (a simulated WebAuthn check, user presence only)",
    )

    terminate = commands.add_parser(
        "terminate-sessions",
        help="end every session of a user (clients with a back-channel URI are told)",
    )
    terminate.add_argument("--login", required=True)

    _action_commands(commands)
    return _rest_of_parser(parser, commands)


def _action_commands(commands: Any) -> None:
    """The changes Zitadel announces to Actions v2 targets, and the target itself."""
    add_target = commands.add_parser(
        "add-target",
        help="an Actions v2 webhook target for every event (prints its signing key once)",
    )
    add_target.add_argument("--url", required=True)
    deactivate = commands.add_parser(
        "deactivate-user", help="deactivate a user (targets get user.deactivated)"
    )
    deactivate.add_argument("--login", required=True)
    remove_grant = commands.add_parser(
        "remove-grant", help="remove one role of a user (targets get user.grant.removed)"
    )
    remove_grant.add_argument("--login", required=True)
    remove_grant.add_argument("--grant", required=True, metavar="ORG:ROLE")
    remove_totp = commands.add_parser(
        "remove-totp",
        help="remove a user's authenticator app (targets get user.human.mfa.otp.removed)",
    )
    remove_totp.add_argument("--login", required=True)
    drain = commands.add_parser(
        "deliver-logout-tokens",
        help="try the queued back-channel logout deliveries that are due (the server does "
        "this every few seconds)",
    )
    drain.add_argument("--at", metavar="ISO8601", help="as if it were this moment")
    commands.add_parser(
        "announce-grants",
        help="send user.grant.added for every grant to the targets (development only)",
    )


def _rest_of_parser(parser: argparse.ArgumentParser, commands: Any) -> argparse.ArgumentParser:
    outbox = commands.add_parser(
        "outbox", help="the SMS and e-mail codes the provider has 'sent' to a user"
    )
    outbox.add_argument("--login", required=True)

    add_org = commands.add_parser("add-org", help="create an organisation (prints id and domain)")
    add_org.add_argument("name")

    add_client = commands.add_parser("add-client", help="register an OIDC client")
    add_client.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
    add_client.add_argument("--post-logout-uri", action="append", default=[], dest="logout_uris")
    add_client.add_argument("--public", action="store_true", help="no secret; PKCE required")
    add_client.add_argument(
        "--id-token-roles",
        action="store_true",
        help='Zitadel\'s "User roles inside ID Token" (off by default)',
    )
    add_client.add_argument(
        "--id-token-userinfo",
        action="store_true",
        help='Zitadel\'s "User Info inside ID Token" (off by default)',
    )
    add_client.add_argument(
        "--clock-skew",
        type=int,
        default=0,
        metavar="SECONDS",
        help="subtracted from iat and auth_time, 0 to 5 (default 0)",
    )
    add_client.add_argument(
        "--backchannel-logout-uri",
        default="",
        metavar="URI",
        help="where logout tokens are POSTed when a session of this client ends",
    )

    project = commands.add_parser("project-id", help="the project's id and settings")
    assertion = project.add_mutually_exclusive_group()
    assertion.add_argument(
        "--assert-roles",
        action="store_true",
        default=None,
        help='turn on the project\'s "Assert Roles on Authentication"',
    )
    assertion.add_argument(
        "--no-assert-roles", action="store_false", dest="assert_roles", help="turn it off"
    )

    commands.add_parser("service-token", help="issue a personal access token of the service user")
    service_key = commands.add_parser(
        "service-key",
        help="write a key file of the service user (Zitadel's JSON, mode 0600); prints its path",
    )
    service_key.add_argument("--out", metavar="PATH", help="where to write it (default: data dir)")

    seed = commands.add_parser("seed-demo", help="create (or refresh) the demo accounts")
    seed.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    seed.add_argument("--post-logout-uri", action="append", default=[], dest="logout_uris")
    seed.add_argument("--backchannel-logout-uri", default="", metavar="URI")

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


def _result(args: argparse.Namespace) -> dict[str, Any]:
    """Do what a managing command asks; its one JSON answer."""
    from local_idp import keys, outbox, provisioning

    handlers: dict[str, Callable[[], dict[str, Any]]] = {
        "add-user": lambda: provisioning.add_user(
            args.login,
            args.password,
            args.roles,
            args.org,
            totp=args.totp,
            grants=args.grants,
            otp_sms=args.otp_sms,
            otp_email=args.otp_email,
            passkey=args.passkey,
            security_key=args.security_key,
        ),
        "outbox": lambda: {"messages": outbox.messages(args.login)},
        "add-target": lambda: provisioning.add_target(args.url),
        "deactivate-user": lambda: provisioning.deactivate_user(args.login),
        "remove-grant": lambda: provisioning.remove_grant(args.login, args.grant),
        "remove-totp": lambda: provisioning.remove_totp(args.login),
        "announce-grants": provisioning.announce_grants,
        "deliver-logout-tokens": lambda: provisioning.deliver_logout_tokens(args.at),
        "terminate-sessions": lambda: provisioning.terminate_sessions(args.login),
        "add-org": lambda: provisioning.add_org(args.name),
        "add-client": lambda: provisioning.add_client(
            args.redirect_uris,
            args.logout_uris,
            public=args.public,
            id_token_roles=args.id_token_roles,
            id_token_userinfo=args.id_token_userinfo,
            clock_skew=args.clock_skew,
            backchannel_logout_uri=args.backchannel_logout_uri,
        ),
        "project-id": lambda: provisioning.project_settings(args.assert_roles),
        "service-token": lambda: {"token": provisioning.service_token()},
        "service-key": lambda: provisioning.service_key(args.out),
        "seed-demo": lambda: provisioning.seed_demo(
            args.redirect_uris, args.logout_uris, args.backchannel_logout_uri
        ),
        "demo-code": lambda: {"code": provisioning.demo_code(args.login)},
        "rotate-key": lambda: keys.rotate(timedelta(seconds=max(args.grace, 0))),
    }
    return handlers[args.command]()


def _run(args: argparse.Namespace) -> int:
    return _report(_result(args))


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
