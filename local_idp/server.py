"""A threaded HTTP server for the provider (Django's own, without autoreload)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

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
        threading.Thread(target=_drain_logout_queue, name="logout-queue", daemon=True).start()
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


DRAIN_EVERY = 5.0  # seconds between two looks at the back-channel logout queue


def _drain_logout_queue() -> None:
    """Retry queued back-channel logout deliveries that are due, for as long as we serve."""
    from django.db import close_old_connections

    from local_idp import backchannel

    stop = threading.Event()
    while not stop.wait(DRAIN_EVERY):
        try:
            backchannel.drain()
        except Exception as error:  # a bad delivery must not stop the queue
            logging.getLogger("local_idp.backchannel").warning(
                "logout queue: %s", type(error).__name__
            )
        finally:
            close_old_connections()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
