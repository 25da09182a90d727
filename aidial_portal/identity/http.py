"""One HTTP client per destination per process, and one small executor, shared by every thread.

Building an `httpx.Client` builds a TLS context (the CA bundle is parsed again), which costs
tens of milliseconds of CPU: far more than the sign-in itself. So each process keeps one client
per origin (connection pooling) and one TLS context for all of them, created on first use.
`httpx.Client` is safe to share between threads (gunicorn's gthread workers), as long as no one
changes its configuration, which nothing here does: per-request options (timeout, headers) go
on the request. A shared client must not carry state from one sign-in to the next, so its
cookie jar accepts no cookie: whatever the provider (or a proxy in front of it) sets on one
person's call is never sent with another's.

The executor runs the provider calls of one sign-in side by side (userinfo, session state,
authentication methods); it is sized for a few concurrent sign-ins per process and is never
built per sign-in. Whatever waits on it keeps its own deadline, so a busy executor fails
closed (a timeout), never open.

A forked child (gunicorn without `--preload` never forks after first use, but a test or a
management command may) must not reuse its parent's sockets or threads: both are rebuilt when
the process id changes.
"""

from __future__ import annotations

import os
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Final
from urllib.parse import urlsplit

import httpx

EXECUTOR_WORKERS: Final = 8
_POOL_LIMITS: Final = httpx.Limits(max_connections=32, max_keepalive_connections=8)


class _Shared:
    """What one process shares; every field is read and written under `lock`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid: int | None = None
        self.tls: ssl.SSLContext | None = None
        self.clients: dict[str, httpx.Client] = {}
        self.executor: ThreadPoolExecutor | None = None

    def forget_parent(self) -> None:
        if self.pid == os.getpid():
            return
        # A new process: the parent's connections and threads are not ours to use or close.
        self.pid = os.getpid()
        self.clients = {}
        self.executor = None


_shared = _Shared()


def origin_of(url: str) -> str:
    """`scheme://host[:port]`, the key of a destination."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("an absolute http(s) URL is needed")
    return f"{parts.scheme}://{parts.netloc}".lower()


def client_for(url: str) -> httpx.Client:
    """The process's client for `url`'s origin: redirects are never followed."""
    key = origin_of(url)
    with _shared.lock:
        _shared.forget_parent()
        client = _shared.clients.get(key)
        if client is None or client.is_closed:
            if _shared.tls is None:
                _shared.tls = httpx.create_ssl_context()
            client = httpx.Client(
                verify=_shared.tls,
                follow_redirects=False,
                limits=_POOL_LIMITS,
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            )
            _shared.clients[key] = client
        return client


def executor() -> ThreadPoolExecutor:
    """The process's executor for provider calls made side by side."""
    with _shared.lock:
        _shared.forget_parent()
        if _shared.executor is None:
            _shared.executor = ThreadPoolExecutor(
                max_workers=EXECUTOR_WORKERS, thread_name_prefix="aidial-provider"
            )
        return _shared.executor


def close_all() -> None:
    """Close every client (tests, and a process that shuts down cleanly)."""
    with _shared.lock:
        clients = list(_shared.clients.values())
        pool = _shared.executor
        _shared.clients, _shared.executor = {}, None
    for client in clients:
        client.close()
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
