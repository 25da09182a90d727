"""The portal's settings plus two benchmark-only routes (see `benchmarks.urls`).

Everything else (database, Redis, middleware, the gate) is exactly the portal's.
"""

import os

os.environ.setdefault("AIDIAL_SECRET_KEY", "benchmarks-only-secret-key-not-for-any-deployment-0123")

from aidial_portal.settings import *  # noqa: F403
from aidial_portal.settings import ALLOWED_HOSTS as _ALLOWED_HOSTS

ROOT_URLCONF = "benchmarks.urls"
# Django's test Client (the in-process benchmarks) calls itself "testserver".
ALLOWED_HOSTS = [*_ALLOWED_HOSTS, "testserver"]
