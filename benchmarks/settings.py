"""The portal's settings plus benchmark-only routes (see `benchmarks.urls`) and one
benchmark-only middleware in front of the portal's (`benchmarks.middleware`: a CPU-time
header, and the bare page's own handler).

Everything else (database, Redis, the portal's middleware, the gate) is exactly the portal's.
"""

import os

os.environ.setdefault("AIDIAL_SECRET_KEY", "benchmarks-only-secret-key-not-for-any-deployment-0123")

from aidial_portal.settings import *  # noqa: F403
from aidial_portal.settings import ALLOWED_HOSTS as _ALLOWED_HOSTS
from aidial_portal.settings import MIDDLEWARE as _MIDDLEWARE

ROOT_URLCONF = "benchmarks.urls"
# Django's test Client (the in-process benchmarks) calls itself "testserver".
ALLOWED_HOSTS = [*_ALLOWED_HOSTS, "testserver"]
PORTAL_MIDDLEWARE = list(_MIDDLEWARE)
MIDDLEWARE = ["benchmarks.middleware.BenchMiddleware", *PORTAL_MIDDLEWARE]
