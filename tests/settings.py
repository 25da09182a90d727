"""The portal's settings for tests: the real ones, with a throwaway secret key."""

import os

os.environ.setdefault(
    "AIDIAL_SECRET_KEY", "tests-only-secret-key-not-for-any-deployment-0123456789"
)

from aidial_portal.settings import *  # noqa: F403

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not Django's shared in-memory database: that one locks whole tables and would
    # turn concurrency tests into "table is locked" errors no deployment ever sees.
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"aidial-portal-test-{os.getpid()}.sqlite3")
    }

# Static files as in development: whitenoise serves the apps' files as they are, nothing is
# collected (tests/web/test_static_files.py checks production's manifest through `serve`).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

if CACHES["default"]["BACKEND"].endswith("RedisCache"):  # noqa: F405
    # A shared Redis: this run's keys carry a prefix of their own, so that each test can
    # start from none of them (refusal counters, sessions) without flushing anyone else's.
    CACHES["default"]["KEY_PREFIX"] = f"aidial-test-{os.getpid()}"  # noqa: F405
