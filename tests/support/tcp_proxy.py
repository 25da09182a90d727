"""A loopback TCP proxy: forwards to a target, optionally holding each chunk sent upstream.

Tests close it to make a store "go away" (new connections refused, open ones cut); benchmarks
give it a delay to stand in for the distance to a hosted provider (each HTTP request, one
chunk, arrives `delay` later, as a network round trip would).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

BUFFER = 65536


class TcpProxy:
    def __init__(self, target: tuple[str, int], *, delay: float = 0.0, port: int = 0) -> None:
        """`port`: listen there (a closed proxy's port, to bring a store back), else any."""
        self.target = target
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = int(self._listener.getsockname()[1])
        # A thread blocked in accept() keeps a closed listener accepting: poll instead.
        self._listener.settimeout(0.2)
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """The target goes away: no new connections, and open ones are cut."""
        self._closed.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in list(self._sockets):
            _shut(sock)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._closed.is_set():
                client.close()
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            for source, sink, delay in ((client, upstream, self.delay), (upstream, client, 0.0)):
                threading.Thread(target=_pump, args=(source, sink, delay), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket, delay: float) -> None:
    try:
        while chunk := source.recv(BUFFER):
            if delay:
                time.sleep(delay)  # the simulated distance, not a wait for an event
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _shut(source)
        _shut(sink)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
