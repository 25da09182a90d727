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
    # Before Django's admin, so that its template for the records site wins.
    "aidial_portal.records",
    # The read-only records site only: no default admin site, no autodiscovery.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "aidial_portal.accounts",
    "aidial_portal.audit",
    "aidial_portal.web",
    "aidial_portal.administration",
    "aidial_portal.support",
    "aidial_portal.sessions",
    "aidial_portal.reminders",
]

MIDDLEWARE = [
    "aidial_portal.web.request_metrics.RequestMetricsMiddleware",
    "aidial_portal.web.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "aidial_portal.web.headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "aidial_portal.web.signed_in_account.SignedInAccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                # For the records site (Django's admin); lazy, so other pages pay nothing.
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

if not AIDIAL.database_url:
    AIDIAL.data_dir.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": parse_database_url(
        AIDIAL.database_url,
        default_sqlite=AIDIAL.data_dir / "portal.sqlite3",
        pool_max_size=AIDIAL.db_pool_max_size,
    )
}
# Django's admin (the records site) may flash a message: keep it in the session, no cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Read by administration/retention.py; a test or deployment may set it here instead.
AIDIAL_AUDIT_RETENTION_DAYS = AIDIAL.audit_retention_days or None

REDIS_URL = AIDIAL.redis_url
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, one Redis client per connection pool (sessions/backends/redis_cache.py).
            "BACKEND": "aidial_portal.sessions.backends.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "aidial",
        }
    }
    SESSION_ENGINE = "aidial_portal.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "aidial_portal.sessions.backends.db"

_HTTPS = AIDIAL.base_url.startswith("https://")
# Names of our own: on 127.0.0.1 the local provider's cookies would otherwise collide with ours.
SESSION_COOKIE_NAME = "aidial_session"
CSRF_COOKIE_NAME = "aidial_csrftoken"
SESSION_COOKIE_HTTPONLY = True
# Under a path prefix the cookies go to the portal's paths only, not to every app on the host.
SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = (FORCE_SCRIPT_NAME or "") + "/"
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _HTTPS
# Shared with the services behind forward auth (/auth/forward/) when set; host-only otherwise.
SESSION_COOKIE_DOMAIN = AIDIAL.session_cookie_domain or None
CSRF_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = [AIDIAL.base_url]
# The stores keep a session at most this long after its last save; the gate (web/lifetime.py)
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

# Support requests are e-mailed through Django's e-mail framework (see support/delivery.py).
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = AIDIAL.email_host or "localhost"
EMAIL_PORT = AIDIAL.email_port
EMAIL_HOST_USER = AIDIAL.email_user
EMAIL_HOST_PASSWORD = AIDIAL.email_password
EMAIL_USE_TLS = AIDIAL.email_tls
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = AIDIAL.email_from or "webmaster@localhost"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Relative, so that it follows the path prefix the portal is mounted under (SCRIPT_NAME).
STATIC_URL = "static/"
# Production: `collectstatic` copies every app's static files to STATIC_ROOT under names that
# carry a hash of their contents (listed in a manifest), compressed beside them, and whitenoise
# serves only those, cached for ever. `aidial-portal serve` collects when they are missing or
# stale. With AIDIAL_DEBUG (and in tests) whitenoise serves the apps' files as they are.
STATIC_ROOT = AIDIAL.static_root or AIDIAL.data_dir / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

USE_TZ = True
# Times are shown in AIDIAL_TIME_ZONE (default Australia/Sydney); the database keeps UTC.
TIME_ZONE = AIDIAL.time_zone
LANGUAGE_CODE = "en-au"
# Times carry their zone abbreviation (formats/en_AU/formats.py).
FORMAT_MODULE_PATH = ["aidial_portal.formats"]
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
