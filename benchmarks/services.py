"""A throwaway PostgreSQL cluster and Redis server of the benchmark's own, on free loopback ports.

Never the shared ones on 5432 and 6379: the fault benchmark stops and restarts these. The
cluster is made with Debian's `initdb` in a directory under the benchmark's temporary
directory and run as the `postgres` OS user when we are root (PostgreSQL refuses root); its
Unix socket lives in that directory too. Redis keeps no snapshot on its own (`--save ""`,
no AOF); the benchmark stops it with `SHUTDOWN SAVE`, which writes one snapshot into its
directory, so that a restart brings back the sessions it held, like a managed Redis with
persistence would.

`stop_leftovers(directory)` kills whatever a crashed benchmark left running there, from the
pid files, and is called by `python -m benchmarks` whatever happened.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from benchmarks.infra import free_port

START_TIMEOUT = 60.0


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL server binaries directory, if any."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


def problem() -> str:
    """Empty when this machine can run the fault benchmark's own services, else why not."""
    if postgres_bin() is None:
        return "no /usr/lib/postgresql/*/bin/initdb"
    if shutil.which("redis-server") is None:
        return "no redis-server"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser (PostgreSQL refuses root)"
    return ""


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _open_path_for_postgres(directory: Path) -> None:
    """Let the postgres user reach `directory` (temporary directories are 0700 root)."""
    if os.geteuid() != 0:
        return
    for parent in [directory, *directory.parents]:
        if str(parent) in ("/", "/tmp"):  # noqa: S108 - the system's, already traversable
            break
        parent.chmod(parent.stat().st_mode | 0o711)


class PostgresCluster:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = free_port()
        found = postgres_bin()
        if found is None:
            raise RuntimeError("no PostgreSQL server binaries")
        self.bin: Path = found
        directory.mkdir(parents=True, exist_ok=True)
        _open_path_for_postgres(directory)
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        subprocess.run(  # noqa: S603 - Debian's initdb, our own directory
            _as_postgres(
                [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        subprocess.run(  # noqa: S603
            _as_postgres(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "-W",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {self.log}")
            time.sleep(0.02)

    def stop(self, mode: str = "fast") -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(  # noqa: S603
            _as_postgres(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]
            ),
            check=False,
            capture_output=True,
            timeout=60,
        )

    def answers(self) -> bool:
        """Accepts a connection and a query (not merely the port: crash recovery refuses)."""
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=1) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--dbfilename",
            "dump.rdb",
            "--pidfile",
            str(self.directory / "redis.pid"),
        ]
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """`SHUTDOWN SAVE`: one snapshot into its directory, then exit."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"SHUTDOWN SAVE\r\n")
                sock.recv(16)
        except OSError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def stop_leftovers(directory: Path) -> list[int]:
    """Kill the postmasters and Redis servers whose pid files are under `directory`."""
    killed = []
    for pid_file in [*directory.rglob("postmaster.pid"), *directory.rglob("redis.pid")]:
        try:
            pid = int(pid_file.read_text().splitlines()[0].strip())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except (OSError, ValueError, IndexError):
            continue
    return killed
