"""Password hashing for a development provider.

Django's scrypt with a smaller work factor: still memory-hard, but quick enough that seeding
fourteen demo accounts and a test run full of sign-ins take seconds, not minutes.
"""

from django.contrib.auth.hashers import ScryptPasswordHasher


class DevelopmentScryptPasswordHasher(ScryptPasswordHasher):
    work_factor = 2**12
