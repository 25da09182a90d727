"""gunicorn's access log without forward auth's grants.

A reverse proxy asks `/auth/forward/` before every request to the services behind it: logging
each grant would write one line per request of every service, for nothing a reader needs.
Refusals (401, 403, 400) are still logged, and counted in Prometheus by reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

FORWARD_AUTH_PATH = "/auth/forward/"


class SkipForwardAuthGrants(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if not isinstance(atoms, Mapping):
            return True
        path, status = str(atoms.get("U", "")), str(atoms.get("s", ""))
        return not (status.startswith("2") and path.endswith(FORWARD_AUTH_PATH))
