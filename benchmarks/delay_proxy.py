"""A loopback TCP proxy that holds every chunk sent upstream for `delay` seconds.

Between the portal and the local provider's API it stands in for the distance to a hosted
Zitadel: each HTTP request (one chunk) arrives `delay` later, so a lookup costs one extra
`delay`, as a round trip over a network would.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

BUFFER = 65536


class DelayProxy:
    def __init__(self, upstream_host: str, upstream_port: int, delay: float) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._listener.close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            for source, target, delay in ((client, upstream, self.delay), (upstream, client, 0)):
                threading.Thread(
                    target=self._pump, args=(source, target, delay), daemon=True
                ).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, delay: float) -> None:
        try:
            while chunk := source.recv(BUFFER):
                if delay:
                    time.sleep(delay)
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
