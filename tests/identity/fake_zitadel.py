"""A tiny Zitadel on 127.0.0.1: canned Session API and User Service answers over real HTTP."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SESSION_ID = "312044223372036111"
USER_ID = "312044223372036999"
SERVICE_TOKEN = "svc-token-ZmFrZS1zZXJ2aWNlLXRva2Vu"
VERIFIED_AT = "2025-06-15T10:00:05.123456789Z"
# How long a blocked or barrier-held handler waits at most: bounds every test.
HOLD_LIMIT = 10.0


def session(**factors: Any) -> dict[str, Any]:
    """`GET /v2/sessions/{id}` as Zitadel answers it; the user factor is always there."""
    return {
        "session": {
            "id": SESSION_ID,
            "creationDate": "2025-06-15T09:59:40.000000Z",
            "changeDate": "2025-06-15T10:00:05.123456Z",
            "sequence": "42",
            "factors": {
                "user": {
                    "verifiedAt": "2025-06-15T09:59:41.000Z",
                    "id": USER_ID,
                    "loginName": "alice@example.test",
                    "displayName": "Alice Example",
                    "organizationId": "312044223372036000",
                },
                "password": {"verifiedAt": "2025-06-15T09:59:45.000Z"},
                **factors,
            },
            "expirationDate": "2025-06-16T09:59:40.000000Z",
        }
    }


def methods(*types: str) -> dict[str, Any]:
    """`GET /v2/users/{id}/authentication_methods`; protobuf JSON omits an empty list."""
    body: dict[str, Any] = {
        "details": {"totalResult": str(len(types)), "timestamp": "2025-06-15T10:00:06Z"}
    }
    if types:
        body["authMethodTypes"] = [f"AUTHENTICATION_METHOD_TYPE_{name}" for name in types]
    return body


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None
    # Holds the request until the test ends (the server is closed).
    block: bool = False


class FakeZitadel:
    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, str | None]] = []
        # The JSON bodies of POST requests, in order.
        self.bodies: list[Any] = []
        self.release = threading.Event()
        self.barrier: threading.Barrier | None = None
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.zitadel = self
        # A short poll interval keeps shutdown (each test's teardown) quick.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, path: str, *replies: Reply) -> None:
        """Answer `path` with `replies` in turn; the last one repeats."""
        self.replies[path] = list(replies)

    def count(self, path: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == path)

    def next_reply(self, path: str, authorization: str | None) -> Reply:
        with self._lock:
            self.requests.append((path, authorization))
            queue = self.replies.get(path)
            if not queue:
                return Reply(404, {"code": 5, "message": "not found"})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def close(self) -> None:
        self.release.set()
        if self.barrier is not None:
            self.barrier.abort()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=HOLD_LIMIT)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    zitadel: FakeZitadel

    def handle_error(self, request: Any, client_address: Any) -> None:
        # An abandoned request ends in a broken pipe: expected, not worth a traceback.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.zitadel.bodies.append(json.loads(raw or b"null"))
        self._answer()

    def _answer(self) -> None:
        zitadel = self.server.zitadel
        reply = zitadel.next_reply(self.path, self.headers.get("Authorization"))
        if zitadel.barrier is not None:
            try:
                zitadel.barrier.wait(timeout=HOLD_LIMIT)
            except threading.BrokenBarrierError:
                reply = Reply(599, {"message": "the other call never came"})
        if reply.block:
            zitadel.release.wait(timeout=HOLD_LIMIT)
        raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass
