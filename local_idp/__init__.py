"""A local, Zitadel-compatible OpenID Connect provider for development and tests.

It is a Django project of its own: the portal never imports it, and it never imports the portal.
Run it with ``python -m local_idp serve``; see ``python -m local_idp --help``.
"""
