"""A threaded HTTP server for the provider (Django's own, without autoreload)."""

from __future__ import annotations

import os
import signal
import sys

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

from local_idp import config, keys


def serve(host: str, port: int) -> int:
    keys.ensure_signing_key()
    bind_host = host.strip("[]")
    httpd = ThreadedWSGIServer(
        (bind_host, port), WSGIRequestHandler, ipv6=":" in bind_host, allow_reuse_address=True
    )
    httpd.set_app(get_wsgi_application())
    bound_port = httpd.server_address[1]
    # The issuer is where we listen, unless configured (e.g. behind a proxy).
    os.environ.setdefault(config.ISSUER_ENV, config.format_issuer(bind_host, bound_port))
    # Ctrl-C and SIGTERM stop the server promptly, also when it was started with SIGINT
    # ignored (a background job of a non-interactive shell, as `make run &` is).
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        sys.stderr.write(
            f"local_idp ready: issuer {config.issuer()} listening on "
            f"{config.format_issuer(bind_host, bound_port)} (data dir {config.data_dir()})\n"
        )
        sys.stderr.flush()
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
