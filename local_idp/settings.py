"""Django settings of the local identity provider (never the portal's settings)."""

from __future__ import annotations

import os

from local_idp import config

DATA_DIR = config.ensure_private_dir(config.data_dir())

SECRET_KEY = config.django_secret_key(DATA_DIR)
# Never DEBUG: error pages must not echo request data (passwords, codes, tokens).
DEBUG = False
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("AIDIAL_IDP_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.sessions",
    "local_idp.apps.LocalIdpConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "local_idp.urls"
WSGI_APPLICATION = "local_idp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.csrf",
                "local_idp.views.common.page_context",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "idp.sqlite3",
        "OPTIONS": {
            # The server is threaded; writers wait for each other instead of failing.
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}

# Django's hashers; a lighter scrypt so that seeding and test runs stay quick (dev only).
PASSWORD_HASHERS = [
    "local_idp.hashers.DevelopmentScryptPasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# The portal may run on the same host: cookies are not port-scoped, so ours have our own names.
SESSION_COOKIE_NAME = "aidial_idp_session"
CSRF_COOKIE_NAME = "aidial_idp_csrftoken"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_ENGINE = "django.contrib.sessions.backends.db"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Authlib's server side reads this; no refresh tokens (Zitadel only issues them for
# offline_access, which this provider does not grant).
AUTHLIB_OAUTH2_PROVIDER = {"refresh_token_generator": False}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "strip_query": {"()": "local_idp.log_filters.StripQueryStrings"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["strip_query"],
        },
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        # Authlib logs the PKCE code_verifier and issued tokens at DEBUG.
        "authlib": {"level": "INFO"},
        "django.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
