"""Services and processes for the benchmarks: probes, throwaway databases, portal servers.

The launcher for `aidial-portal serve` is the benchmarks' own: `tests/support/servers.py` starts
one single-worker server with its own SQLite database and secret key, while these benchmarks
choose workers and threads and share one database, Redis and secret key between the servers and
the process that makes their sessions.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

from aidial_portal.config import DEFAULT_RATE_LIMITS

UNLIMITED = {f"AIDIAL_RATE_LIMIT_{name.upper()}": "1000000/m" for name in DEFAULT_RATE_LIMITS}

REPO_ROOT = Path(__file__).resolve().parents[1]
SETTINGS_MODULE = "benchmarks.settings"
SECRET_KEY = "benchmarks-only-secret-key-not-for-any-deployment-0123"  # noqa: S105
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
# Only databases whose names say they are ours are ever created or dropped.
_OWN_DATABASE = re.compile(r"(bench_[a-z0-9_]{1,40}|aidial_bench)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- services ---------------------------------------------------------------------------------


def redis_problem(host: str = REDIS_HOST, port: int = REDIS_PORT) -> str:
    """Empty when Redis answers PING, else why not."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as error:
        return f"Redis at {host}:{port} does not answer ({error})"
    if not reply.startswith(b"+PONG"):
        return f"Redis at {host}:{port} answered PING with {reply[:20]!r}"
    return ""


def redis_url(db: int) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


INSTANCES_DATABASE = "aidial_bench"


def _pg_connect(server_url: str) -> psycopg.Connection[Any]:
    """An autocommit connection to the `postgres` database of the server in `server_url`."""
    parts = urlsplit(server_url)
    return psycopg.connect(
        host=parts.hostname or PG_HOST,
        port=parts.port or PG_PORT,
        user=unquote(parts.username or PG_USER),
        password=unquote(parts.password or ""),
        dbname="postgres",
        connect_timeout=3,
        autocommit=True,
    )


def postgres_problem() -> str:
    """Empty when PostgreSQL accepts the trust-auth `postgres` user, else why not."""
    try:
        connection = _pg_connect(postgres_url("postgres"))
    except Exception as error:
        lines = str(error).strip().splitlines()
        return (
            f"PostgreSQL at {PG_HOST}:{PG_PORT} does not answer ({lines[0] if lines else error!r})"
        )
    connection.close()
    return ""


def postgres_url(name: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def _own(name: str) -> str:
    if not _OWN_DATABASE.fullmatch(name):
        raise ValueError(f"refusing to touch database {name!r}: not a benchmark database")
    return name


def recreate_postgres_database(name: str, server_url: str) -> None:
    """Drop (if it exists) and create the benchmark database `name` on `server_url`'s server."""
    _own(name)
    with _pg_connect(server_url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_postgres_database(name: str, server_url: str) -> None:
    _own(name)
    with _pg_connect(server_url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def flush_redis_db(db: int, host: str = REDIS_HOST, port: int = REDIS_PORT) -> None:
    """Empty Redis database `db`: one the benchmarks keep for themselves (12 and 14)."""
    if db not in (12, 14):
        raise ValueError("the benchmarks only flush Redis databases 12 and 14")
    with socket.create_connection((host, port), timeout=2.0) as sock:
        sock.sendall(f"SELECT {db}\r\nFLUSHDB\r\n".encode())
        reply = b""
        while reply.count(b"\r\n") < 2:
            chunk = sock.recv(64)
            if not chunk:
                break
            reply += chunk
    if reply.count(b"+OK") != 2:
        raise RuntimeError(f"Redis did not flush database {db}: {reply[:40]!r}")


# -- processes --------------------------------------------------------------------------------


def portal_env(
    database_url: str, redis: str = "", extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a benchmark child process or portal server."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "AIDIAL_SECRET_KEY": SECRET_KEY,
            "AIDIAL_DATABASE_URL": database_url,
            "AIDIAL_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("AIDIAL_DEBUG", None)
    if redis:
        env["AIDIAL_REDIS_URL"] = redis
    else:
        env.pop("AIDIAL_REDIS_URL", None)
    env.update(extra or {})
    return env


def run_child(module: str, args: list[str], env: Mapping[str, str]) -> int:
    """Run `python -m module args` with `env`; its output goes straight to ours."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", module, *args], cwd=REPO_ROOT, env=dict(env), check=False
    )
    return completed.returncode


def _serve_command() -> list[str]:
    script = Path(sys.executable).parent / "aidial-portal"
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "aidial_portal.cli", "serve"]


def get_status(host: str, port: int, path: str, cookie: str) -> str:
    """One GET with a session cookie (not following redirects): "200", or "302 to /login/..."."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        response.read()
        location = response.getheader("Location")
        return f"{response.status} to {location}" if location else str(response.status)
    finally:
        connection.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback http
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


class PortalServer:
    """`aidial-portal serve` on a free loopback port, until `stop()`."""

    def __init__(
        self,
        env: Mapping[str, str],
        work_dir: Path,
        *,
        workers: int,
        threads: int,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.log_path = work_dir / f"server-{self.port}.log"
        metrics_dir = work_dir / f"prometheus-{self.port}"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        # A benchmark is a flood from one address by design: the rate limits stay out of it.
        server_env = {**UNLIMITED, **env}
        server_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        command = [
            *_serve_command(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own server command
                command,
                cwd=REPO_ROOT,
                env=server_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"aidial-portal serve exited with {self.process.returncode}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            if _answers(self.url("/healthz")):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"aidial-portal serve did not answer within {START_TIMEOUT}s")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def portal_servers(
    env: Mapping[str, str], work_dir: Path, count: int, *, workers: int, threads: int
) -> Iterator[list[PortalServer]]:
    servers: list[PortalServer] = []
    try:
        for _ in range(count):
            servers.append(PortalServer(env, work_dir, workers=workers, threads=threads))
        yield servers
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def portal_servers_at(
    env: Mapping[str, str], work_dir: Path, port: int, *, workers: int, threads: int
) -> Iterator[PortalServer]:
    """One server on a port chosen beforehand (its base URL is in its settings)."""
    server = PortalServer(env, work_dir, workers=workers, threads=threads, port=port)
    try:
        yield server
    finally:
        server.stop()


def django_ready() -> None:
    """Configure Django in this process (settings from DJANGO_SETTINGS_MODULE), migrate, and
    collect the static files when they are missing or stale, as `aidial-portal serve` does:
    the in-process requests render the production pages, whose static URLs come from
    collectstatic's manifest."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from aidial_portal.cli import collect_static_if_stale

    collect_static_if_stale()
