"""`aidial-portal`: the portal's management entry point.

- `aidial-portal serve [--host] [--port] [--workers]` runs the portal under gunicorn;
- `aidial-portal idp ...` runs the local identity provider's commands in its own process
  (the portal never imports the provider);
- anything else is a Django management command (`migrate`, `check --deploy`, ...).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["idp"]:
        run_local_idp(args[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aidial_portal.settings")
    from aidial_portal.config import ConfigError

    try:
        if args[:1] == ["serve"]:
            serve(args[1:])
            return
        from django.core.management import execute_from_command_line

        execute_from_command_line(["aidial-portal", *args])
    except ConfigError as error:
        # The message names the variable and what is wrong with it; a traceback adds nothing.
        sys.exit(f"aidial-portal: {error}")


PROVIDER_ABSENT = """\
aidial-portal idp: the local identity provider is not installed.
It is a development and test tool, not part of the portal's wheel. From a checkout of the
repository, `make run` installs it; or install it yourself with
    pip install --editable ./local_idp
"""


def run_local_idp(argv: Sequence[str]) -> None:
    """Replace this process with the provider's CLI (the portal never imports the provider)."""
    if importlib.util.find_spec("local_idp") is None:
        sys.stderr.write(PROVIDER_ABSENT)
        sys.exit(2)
    os.execv(sys.executable, [sys.executable, "-m", "local_idp", *argv])  # noqa: S606


def serve(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="aidial-portal serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=4)
    options = parser.parse_args(argv)
    from django.conf import settings

    workers = options.workers or settings.AIDIAL.workers or min(2 * (os.cpu_count() or 1) + 1, 9)
    _refuse_to_start_on_check_errors()
    _prepare_metrics_dir(options.port)
    collect_static_if_stale()
    _release_database_connections()

    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = [
        "gunicorn",
        "--bind",
        f"{options.host}:{options.port}",
        "--workers",
        str(workers),
        "--threads",
        str(options.threads),
        "--config",
        "python:aidial_portal.gunicorn_conf",
        "--graceful-timeout",
        "10",
        "aidial_portal.wsgi:application",
    ]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()


def collect_static_if_stale() -> bool:
    """Run `collectstatic` when the collected files are missing or older than the sources.

    Production pages link content-hashed names from collectstatic's manifest, and whitenoise
    serves only what was collected; a deployment may collect once per release (in the image
    build, say), and then `serve` starts at once. Returns whether it collected.
    """
    import django
    from django.conf import settings

    django.setup()
    from django.contrib.staticfiles import finders
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.management import call_command

    manifest_name = getattr(staticfiles_storage, "manifest_name", None)
    if manifest_name is None or not settings.STATIC_ROOT:
        return False  # plain storage (development): whitenoise serves from the apps
    manifest = Path(settings.STATIC_ROOT) / manifest_name
    sources = (
        Path(storage.path(name)).stat().st_mtime
        for finder in finders.get_finders()
        for name, storage in finder.list(["CVS", ".*", "*~"])
    )
    if manifest.exists() and manifest.stat().st_mtime >= max(sources, default=0):
        return False
    call_command("collectstatic", interactive=False, verbosity=0)
    return True


def _refuse_to_start_on_check_errors() -> None:
    """Run the system checks before any worker starts: a configuration that would answer 500
    to every sign-in never starts. Warnings are printed; errors stop start-up."""
    import django
    from django.core.checks import ERROR

    django.setup()
    from aidial_portal.checks import start_up_messages

    messages = start_up_messages()
    for message in messages:
        print(message, file=sys.stderr)
    errors = [message for message in messages if message.level >= ERROR]
    if errors:
        sys.exit(
            f"aidial-portal serve: not starting: the system checks found {len(errors)} "
            f"error{'s' if len(errors) > 1 else ''} (above)."
        )


def _release_database_connections() -> None:
    """gunicorn forks the workers from this process: whatever the start-up work opened (a
    connection, a psycopg pool and its threads) must not be inherited; each worker opens its own."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()


def _prepare_metrics_dir(port: int) -> None:
    """Workers share their Prometheus counters through files; start each server afresh."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from django.conf import settings

    path = settings.AIDIAL.data_dir / "prometheus" / str(port)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


if __name__ == "__main__":
    main()
