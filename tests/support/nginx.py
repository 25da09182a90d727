"""Debian's nginx on a free loopback port, configured with the shipped forward-auth snippet, in
front of an upstream that echoes the headers it receives.

Everything nginx writes (pid, logs, temporary files) stays in the test's own directory; it
runs in the foreground (`daemon off`) as a child of the test and is stopped with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.idp import free_loopback_port, stop_process, wait_until_answering
from tests.support.servers import REPO_ROOT

SNIPPET = REPO_ROOT / "deploy" / "nginx" / "aidial-forward-auth.conf"
UPSTREAM_PATH = "/_echo"  # the echo upstream's own health path, not behind forward auth


def nginx_binary() -> str:
    """nginx, or skip (fail under CI=true, where .ci/run installs it) with a visible reason."""
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)),
        None,
    )
    if found:
        return found
    reason = "nginx is not installed (apt-get install nginx-light); the forward-auth tests need it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: these tests never skip)")
    pytest.skip(reason)


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with the headers it received, as JSON (names as sent)."""

    def do_GET(self) -> None:
        body = json.dumps(
            {"path": self.path, "headers": [[name, value] for name, value in self.headers.items()]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the answers, not a log."""


@contextmanager
def echo_upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Nginx:
    base_url: str
    port: int
    error_log: Path

    def url(self, path: str) -> str:
        return self.base_url + path


CONFIG = """
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    upstream aidial_portal {{ server 127.0.0.1:{portal_port}; }}
    server {{
        listen 127.0.0.1:{port} default_server;
        set $aidial_portal_host 127.0.0.1;
        include {snippet};
        location / {{ proxy_pass http://127.0.0.1:{upstream_port}; }}
        location /admin/ {{
            auth_request /_aidial_auth/role=aidial_admin;
            proxy_pass http://127.0.0.1:{upstream_port};
        }}
        location /recent/ {{
            auth_request /_aidial_auth/max_age=900;
            proxy_pass http://127.0.0.1:{upstream_port};
        }}
        location = {health} {{ auth_request off; proxy_pass http://127.0.0.1:{upstream_port}; }}
    }}
}}
"""


@contextmanager
def nginx_in_front(work: Path, *, portal_port: int, upstream_port: int) -> Iterator[Nginx]:
    binary = nginx_binary()
    work.mkdir(parents=True, exist_ok=True)
    port = free_loopback_port()
    config = work / "nginx.conf"
    config.write_text(
        CONFIG.format(
            work=work,
            port=port,
            portal_port=portal_port,
            upstream_port=upstream_port,
            snippet=SNIPPET,
            health=UPSTREAM_PATH,
        )
    )
    log = work / "nginx.out"
    test = subprocess.run(
        [binary, "-t", "-p", str(work), "-c", str(config), "-e", str(work / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert test.returncode == 0, f"nginx refused the configuration:\n{test.stderr}"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [binary, "-p", str(work), "-c", str(config), "-e", str(work / "error.log")],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(base + UPSTREAM_PATH, process, log, name="nginx", error=RuntimeError)
        yield Nginx(base, port, work / "error.log")
    finally:
        stop_process(process)
