"""The process's shared HTTP clients and executor."""

from __future__ import annotations

import threading

import pytest

from aidial_portal.identity import http


def test_one_client_per_origin_is_reused_with_one_tls_context() -> None:
    token = http.client_for("https://id.example.test/oauth/v2/token")
    keys = http.client_for("https://ID.example.test:443/oauth/v2/keys")
    api = http.client_for("https://api.example.test/v2/sessions/1")
    assert token is http.client_for("https://id.example.test/oidc/v1/userinfo")
    assert api is not token
    # Port 443 written out is still another origin string; what matters is no rebuild per call.
    assert keys is http.client_for("https://id.example.test:443/")
    assert token._transport._pool._ssl_context is api._transport._pool._ssl_context  # type: ignore[attr-defined]


def test_a_closed_client_is_replaced_on_next_use() -> None:
    client = http.client_for("https://closed.example.test/")
    client.close()
    assert not http.client_for("https://closed.example.test/").is_closed


def test_threads_asking_at_once_get_the_same_client() -> None:
    seen: list[object] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        seen.append(http.client_for("https://race.example.test/"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in seen}) == 1


def test_the_executor_is_built_once_per_process() -> None:
    assert http.executor() is http.executor()


@pytest.mark.parametrize("url", ["", "id.example.test", "ftp://id.example.test/x"])
def test_a_destination_must_be_an_absolute_http_url(url: str) -> None:
    with pytest.raises(ValueError, match="absolute"):
        http.client_for(url)


def test_cookies_set_by_one_call_are_never_sent_with_the_next() -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []

    class SetsACookie(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Cookie"))
            self.send_response(200)
            self.send_header("Set-Cookie", "route=instance-7; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SetsACookie)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v2/sessions/1"
        first = http.client_for(url).get(url)
        http.client_for(url).get(url)
    finally:
        server.shutdown()
        server.server_close()
    assert first.headers["set-cookie"].startswith("route=")
    assert seen == [None, None]
    assert not http.client_for(url).cookies
