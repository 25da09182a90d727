"""Django settings for the portal.

Everything deployment-specific comes from AIDIAL_* variables, read in one place: `config.py`
builds `AIDIAL` (a `PortalConfig`), and this module and the rest of the portal read that object.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from aidial_portal.config import from_env
from aidial_portal.database_url import parse_database_url

AIDIAL = from_env(os.environ)

DEBUG = AIDIAL.debug
# An empty key is refused by the system checks outside debug; debug gets a throwaway one.
SECRET_KEY = AIDIAL.secret_key or ("insecure-development-key-only-for-debug" if DEBUG else "")
# The base URL's own host is always allowed; AIDIAL_ALLOWED_HOSTS adds others.
ALLOWED_HOSTS = sorted(
    {urlsplit(AIDIAL.base_url).hostname or "127.0.0.1"} | set(AIDIAL.allowed_hosts)
)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "aidial_portal.accounts",
    "aidial_portal.audit",
    "aidial_portal.web",
    "aidial_portal.administration",
    "aidial_portal.support",
    "aidial_portal.sessions",
]

MIDDLEWARE = [
    "aidial_portal.web.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "aidial_portal.web.headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "aidial_portal.web.signed_in_account.SignedInAccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "aidial_portal.web.lifetime.SessionLifetimeMiddleware",
    "aidial_portal.web.gate.MfaGateMiddleware",
]

ROOT_URLCONF = "aidial_portal.urls"
WSGI_APPLICATION = "aidial_portal.wsgi.application"
AUTH_USER_MODEL = "accounts.Account"
AUTHENTICATION_BACKENDS = ["aidial_portal.accounts.backends.ProviderAccountBackend"]
LOGIN_URL = "login"
# Mounted under a path prefix when AIDIAL_BASE_URL has one: every URL the portal writes (pages,
# forms, redirects, static files) carries it; the proxy or gunicorn takes it off the path.
FORCE_SCRIPT_NAME = urlsplit(AIDIAL.base_url).path.rstrip("/") or None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
            ],
        },
    }
]

if not AIDIAL.database_url:
    AIDIAL.data_dir.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": parse_database_url(
        AIDIAL.database_url, default_sqlite=AIDIAL.data_dir / "portal.sqlite3"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Read by administration/retention.py; a test or deployment may set it here instead.
AIDIAL_AUDIT_RETENTION_DAYS = AIDIAL.audit_retention_days or None

REDIS_URL = AIDIAL.redis_url
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "aidial",
        }
    }
    SESSION_ENGINE = "aidial_portal.web.session_engines.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "aidial_portal.web.session_engines.database"

_HTTPS = AIDIAL.base_url.startswith("https://")
# Names of our own: on 127.0.0.1 the local provider's cookies would otherwise collide with ours.
SESSION_COOKIE_NAME = "aidial_session"
CSRF_COOKIE_NAME = "aidial_csrftoken"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = [AIDIAL.base_url]
# The stores keep a session at most this long after its last save; the lifetime middleware
# enforces AIDIAL_SESSION_MAX_AGE and AIDIAL_SESSION_IDLE_TIMEOUT exactly.
SESSION_COOKIE_AGE = AIDIAL.session_max_age
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_FAILURE_VIEW = "aidial_portal.web.views.errors.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if _HTTPS:
    SECURE_HSTS_SECONDS = 31_536_000
# Only a proxy the operator vouches for may say the request came over https: otherwise any
# client could send the header and make a plain-http request count as secure.
if AIDIAL.trust_proxy:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Relative, so that it follows the path prefix the portal is mounted under (SCRIPT_NAME).
STATIC_URL = "static/"
# `collectstatic` target for deployments; in development whitenoise serves from the apps.
STATIC_ROOT = AIDIAL.static_root
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-au"
USE_I18N = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "aidial_portal.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "aidial_portal.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": AIDIAL.log_level},
    "loggers": {
        # Authlib logs the PKCE code_verifier at DEBUG.
        "authlib": {"level": "INFO"},
        # httpx logs every URL it requests at INFO, session ids included.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        "django.security": {"level": "WARNING"},
    },
}
