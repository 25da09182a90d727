"""gunicorn settings for `aidial-portal serve`: its own log lines are JSON too."""

import os
import signal
from typing import Any

from aidial_portal.config import from_env

# gunicorn believes X-Forwarded-Proto from loopback peers by default; only a trusted proxy
# may say a request came over https.
forwarded_allow_ips = "127.0.0.1,::1" if from_env(os.environ).trust_proxy else ""

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "aidial_portal.logs.JsonFormatter"}},
    "filters": {
        "forward_auth_grants": {"()": "aidial_portal.web.forward_access_log.SkipForwardAuthGrants"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
            "filters": ["forward_auth_grants"],
        },
    },
}
# Method and path only: never the query string, which may carry an authorization code or state.
access_log_format = "%(m)s %(U)s %(s)s %(M)sms request_id=%({x-request-id}o)s"
accesslog = "-"


def when_ready(server: Any) -> None:
    """`AIDIAL_METRICS_LISTEN`: the master serves every worker's metrics, added up, on a
    separate loopback port (no token; `config` refuses an address off loopback)."""
    listen = from_env(os.environ).metrics_listen
    if listen is not None:
        from aidial_portal import metrics

        metrics.serve_on_loopback(
            listen, multiprocess_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        )
        server.log.info("metrics on http://%s:%d/metrics", *listen)


def post_worker_init(worker: Any) -> None:
    """Ctrl-C in a terminal reaches the master and every worker at once, and the master then
    sends each worker SIGQUIT too: a gthread worker that handles both can deadlock in its
    thread-pool shutdown and keep the port after the master has gone. Only the master
    answers Ctrl-C; it stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
