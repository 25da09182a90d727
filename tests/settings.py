"""The portal's settings for tests: the real ones, with a throwaway secret key."""

import os

os.environ.setdefault(
    "AIDIAL_SECRET_KEY", "tests-only-secret-key-not-for-any-deployment-0123456789"
)

from aidial_portal.settings import *  # noqa: F403
