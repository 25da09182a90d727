"""The portal's settings, read once from the environment into one typed object.

Every variable is documented in the README; `checks.py` turns dangerous values into
Django system-check errors at start-up.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aidial_portal.mfa.compliance import DEFAULT_MFA_MAX_AGE
from aidial_portal.mfa.evidence import Factor, Source
from aidial_portal.mfa.levels import (
    DEFAULT_ACCEPTED_FACTORS,
    NAMED_FACTORS,
    Level,
    parse_factors,
    parse_levels,
)

# Relative to the working directory: never inside the installed package (site-packages).
DEFAULT_DATA_DIR = "var"
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost")
# PostgreSQL connections a worker process may hold; more than `serve --threads` are never used.
DEFAULT_DB_POOL_MAX_SIZE = 10
LOCAL_ISSUER = "http://127.0.0.1:8080"
DEFAULT_STEP_UP_MAX_AGE = 900
# Session lifetimes (README, "Session lifetimes", justifies them against NIST SP 800-63B-4 AAL2
# and OWASP ASVS 5.0).
DEFAULT_SESSION_MAX_AGE = 12 * 60 * 60
DEFAULT_SESSION_IDLE_TIMEOUT = 60 * 60
SECURITY_PAGE_PATH = "/ui/console/users/me?id=security"
DEFAULT_EMAIL_PORT = 25
# Rolling MFA out (README, "Rolling MFA out"): off by default, as the user guide describes.
DEFAULT_ENROLMENT_GRACE_DAYS = 0
MAX_ENROLMENT_GRACE_DAYS = 365
DEFAULT_REMINDER_INTERVAL_DAYS = 7


# Rate limits (`AIDIAL_RATE_LIMIT_{NAME}`, web/rate_limits.py): requests per window, counted per
# signed-in account, else per client address. Generous for people (a sign-in is two requests,
# an office NAT shares one address), tight enough that a script gets nowhere.
DEFAULT_RATE_LIMITS = {
    "login": "30/m",  # POST /login/: each one starts a sign-in
    "callback": "30/m",  # GET /oidc/callback/ (sign-ins and refreshes)
    "support": "10/10m",  # POST /support/
    "export": "10/m",  # /admin/compliance/export.csv
    "events_export": "60/m",  # /admin/events/ (and an events export)
    "backchannel": "600/m",  # POST /oidc/backchannel-logout/, from the provider
    "zitadel_events": "600/m",  # POST /zitadel/events/, from the provider
}
_RATE = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)?([smhd])$")


@dataclass(frozen=True)
class RateLimits:
    """Each limit as django-ratelimit writes it (`30/m`, `10/10m`)."""

    rates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))

    def rate(self, name: str) -> str:
        # An unknown name is a programming error: fail closed with the strictest default.
        return self.rates.get(name, "10/m")


DEFAULT_TIME_ZONE = "Australia/Sydney"


class ConfigError(ValueError):
    """An AIDIAL_* variable holds a value the portal cannot use; the message names it."""


@dataclass(frozen=True)
class PortalConfig:
    # Deployment: Django's own settings (settings.py), the data directory, the database and
    # cache, `serve`. Secrets and URLs that may hold a password stay out of repr().
    debug: bool = False
    secret_key: str = field(default="", repr=False)
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR).absolute())
    database_url: str = field(default="", repr=False)
    db_pool_max_size: int = DEFAULT_DB_POOL_MAX_SIZE  # 0: no pool, CONN_MAX_AGE 60 s per thread
    redis_url: str = field(default="", repr=False)
    static_root: Path | None = None
    log_level: str = "INFO"
    workers: int | None = None  # None: twice the cores plus one, at most 9
    # Validated by the system check aidial.E901 (a Django setting of the same name wins).
    audit_retention_days: str = ""
    # Every time a person reads (pages, records, CSV) is in this zone; stored times stay UTC.
    time_zone: str = DEFAULT_TIME_ZONE

    base_url: str = "http://127.0.0.1:8000"
    issuer: str = LOCAL_ISSUER
    client_id: str = "aidial-portal-dev"
    client_secret: str = ""
    extra_audiences: frozenset[str] = frozenset()
    project_id: str = ""
    clock_skew: int = 0
    api_url: str = LOCAL_ISSUER
    # Secrets stay out of repr(): settings appear on debug error pages.
    service_token: str = field(default="", repr=False)
    service_key_file: str = ""
    # The Actions v2 target's signing key: `/zitadel/events/` believes only deliveries signed
    # with it (empty: the route answers 404).
    actions_signing_key: str = field(default="", repr=False)
    evidence_mode: Source = Source.SESSION
    mfa_max_age: int = DEFAULT_MFA_MAX_AGE
    step_up_max_age: int = DEFAULT_STEP_UP_MAX_AGE
    security_url: str = LOCAL_ISSUER + SECURITY_PAGE_PATH
    management_url: str = LOCAL_ISSUER + SECURITY_PAGE_PATH
    role_table: Mapping[str, str] = field(default_factory=dict)
    # AiDial's own organisation at Zitadel: when set, global roles count only from it.
    global_org_id: str = ""
    metrics_token: str = field(default="", repr=False)
    # (host, port) on loopback where a separate listener serves /metrics without the token.
    metrics_listen: tuple[str, int] | None = None
    session_max_age: int = DEFAULT_SESSION_MAX_AGE
    session_idle_timeout: int = DEFAULT_SESSION_IDLE_TIMEOUT
    # Support requests by e-mail: on only with a recipient, an SMTP host and a sender.
    support_email_to: tuple[str, ...] = ()
    email_host: str = ""
    email_port: int = DEFAULT_EMAIL_PORT
    email_from: str = ""
    email_user: str = ""
    email_password: str = field(default="", repr=False)
    email_tls: bool = False
    # Rolling MFA out: which factors count, how strong a role's check must be, how long a
    # newcomer to a mandatory role may stay unenrolled, and how often they are reminded.
    accepted_factors: frozenset[Factor] = DEFAULT_ACCEPTED_FACTORS
    role_levels: Mapping[str, Level] = field(default_factory=dict)
    enrolment_grace_days: int = DEFAULT_ENROLMENT_GRACE_DAYS
    reminder_interval_days: int = DEFAULT_REMINDER_INTERVAL_DAYS

    @property
    def support_email_enabled(self) -> bool:
        return bool(self.support_email_to and self.email_host and self.email_from)

    # Trust X-Forwarded-Proto from a reverse proxy in front of every instance.
    trust_proxy: bool = False
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # Forward auth (/auth/forward/): the hosts whose requests it answers for, exact names or
    # `*.example.com` (any subdomain); also where an absolute `next` may lead. Empty: none.
    forward_auth_hosts: tuple[str, ...] = ()
    # The session cookie's Domain attribute (e.g. `.aidial.com.au`), so that the services
    # behind forward auth receive it; empty: host-only.
    session_cookie_domain: str = ""

    @property
    def redirect_uri(self) -> str:
        return self.base_url.rstrip("/") + "/oidc/callback/"

    @property
    def is_public_client(self) -> bool:
        return not self.client_secret


def from_env(env: Mapping[str, str]) -> PortalConfig:
    """Read the AIDIAL_* variables. Malformed values raise ConfigError naming the variable."""
    issuer = env.get("AIDIAL_OIDC_ISSUER", LOCAL_ISSUER).rstrip("/")
    security_url = env.get("AIDIAL_PROVIDER_SECURITY_URL", issuer + SECURITY_PAGE_PATH)
    return PortalConfig(
        debug=env.get("AIDIAL_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"},
        secret_key=env.get("AIDIAL_SECRET_KEY", ""),
        allowed_hosts=_names(env.get("AIDIAL_ALLOWED_HOSTS", ",".join(DEFAULT_ALLOWED_HOSTS))),
        data_dir=Path(env.get("AIDIAL_DATA_DIR", "").strip() or DEFAULT_DATA_DIR).absolute(),
        database_url=env.get("AIDIAL_DATABASE_URL", "").strip(),
        db_pool_max_size=_count(env, "AIDIAL_DB_POOL_MAX_SIZE", DEFAULT_DB_POOL_MAX_SIZE),
        redis_url=env.get("AIDIAL_REDIS_URL", "").strip(),
        static_root=_optional_path(env.get("AIDIAL_STATIC_ROOT", "")),
        log_level=env.get("AIDIAL_LOG_LEVEL", "").strip().upper() or "INFO",
        workers=_workers(env),
        audit_retention_days=env.get("AIDIAL_AUDIT_RETENTION_DAYS", "").strip(),
        time_zone=_time_zone(env.get("AIDIAL_TIME_ZONE", "")),
        base_url=env.get("AIDIAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        issuer=issuer,
        client_id=env.get("AIDIAL_OIDC_CLIENT_ID", "aidial-portal-dev"),
        client_secret=env.get("AIDIAL_OIDC_CLIENT_SECRET", ""),
        extra_audiences=frozenset(
            value.strip()
            for value in env.get("AIDIAL_OIDC_EXTRA_AUDIENCES", "").split(",")
            if value.strip()
        ),
        project_id=env.get("AIDIAL_ZITADEL_PROJECT_ID", "").strip(),
        clock_skew=_skew(env),
        api_url=env.get("AIDIAL_ZITADEL_API_URL", issuer).rstrip("/"),
        service_token=env.get("AIDIAL_ZITADEL_SERVICE_TOKEN", ""),
        service_key_file=env.get("AIDIAL_ZITADEL_SERVICE_KEY_FILE", "").strip(),
        actions_signing_key=env.get("AIDIAL_ZITADEL_ACTIONS_SIGNING_KEY", "").strip(),
        evidence_mode=_evidence_mode(env.get("AIDIAL_MFA_EVIDENCE", "session")),
        mfa_max_age=_seconds(env, "AIDIAL_MFA_MAX_AGE", DEFAULT_MFA_MAX_AGE),
        step_up_max_age=_seconds(env, "AIDIAL_STEP_UP_MAX_AGE", DEFAULT_STEP_UP_MAX_AGE),
        security_url=security_url,
        management_url=env.get("AIDIAL_PROVIDER_MANAGEMENT_URL", security_url),
        role_table=_role_table(env.get("AIDIAL_ROLE_POLICY", "")),
        global_org_id=_organisation_id(env, "AIDIAL_GLOBAL_ORGANISATION_ID"),
        metrics_token=env.get("AIDIAL_METRICS_TOKEN", ""),
        metrics_listen=_loopback_listen(env, "AIDIAL_METRICS_LISTEN"),
        session_max_age=_seconds(env, "AIDIAL_SESSION_MAX_AGE", DEFAULT_SESSION_MAX_AGE),
        session_idle_timeout=_seconds(
            env, "AIDIAL_SESSION_IDLE_TIMEOUT", DEFAULT_SESSION_IDLE_TIMEOUT
        ),
        support_email_to=tuple(
            address.strip()
            for address in env.get("AIDIAL_SUPPORT_EMAIL_TO", "").split(",")
            if address.strip()
        ),
        email_host=env.get("AIDIAL_EMAIL_HOST", "").strip(),
        email_port=_port(env, "AIDIAL_EMAIL_PORT", DEFAULT_EMAIL_PORT),
        email_from=env.get("AIDIAL_EMAIL_FROM", "").strip(),
        email_user=env.get("AIDIAL_EMAIL_USER", ""),
        email_password=env.get("AIDIAL_EMAIL_PASSWORD", ""),
        email_tls=_flag(env, "AIDIAL_EMAIL_TLS"),
        accepted_factors=_accepted_factors(env.get("AIDIAL_ACCEPTED_FACTORS", "")),
        role_levels=_role_levels(env.get("AIDIAL_ROLE_LEVELS", "")),
        enrolment_grace_days=_whole_number(
            env,
            "AIDIAL_ENROLMENT_GRACE_DAYS",
            DEFAULT_ENROLMENT_GRACE_DAYS,
            minimum=0,
            maximum=MAX_ENROLMENT_GRACE_DAYS,
            unit="days",
        ),
        reminder_interval_days=_whole_number(
            env, "AIDIAL_REMINDER_INTERVAL_DAYS", DEFAULT_REMINDER_INTERVAL_DAYS, minimum=1
        ),
        trust_proxy=_flag(env, "AIDIAL_TRUST_PROXY"),
        rate_limits=_rate_limits(env),
        forward_auth_hosts=_host_patterns(env.get("AIDIAL_FORWARD_AUTH_HOSTS", "")),
        session_cookie_domain=_cookie_domain(
            env.get("AIDIAL_SESSION_COOKIE_DOMAIN", ""),
            env.get("AIDIAL_BASE_URL", "http://127.0.0.1:8000"),
        ),
    )


def is_trusted_provider_url(url: str, issuer: str) -> bool:
    """Provider pages are trusted only on the issuer's origin, over https (or http on loopback)."""
    target, origin = urlsplit(url), urlsplit(issuer)
    if (target.scheme, target.netloc) != (origin.scheme, origin.netloc) or not target.hostname:
        return False
    if target.username is not None or target.password is not None:
        return False
    return target.scheme == "https" or (target.scheme == "http" and is_loopback(target.hostname))


def is_trusted_api_url(url: str) -> bool:
    """The Zitadel API gets the service credential: https, or plain http on loopback only."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# A DNS name or IPv4 address as it appears in a URL: letters, digits, hyphens and dots.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """`host` (a URL's host name, any case) is one of `patterns`: an exact name, or a
    subdomain of `*.example.com` at any depth (not `example.com` itself)."""
    host = host.lower()
    if not _HOST_NAME.match(host):
        return False
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def _host_patterns(raw: str) -> tuple[str, ...]:
    """`AIDIAL_FORWARD_AUTH_HOSTS`: comma-separated host names, or `*.` and a domain."""
    patterns = []
    for item in _names(raw):
        pattern = item.lower()
        name = pattern.removeprefix("*.")
        if "*" in name or not _HOST_NAME.match(name) or (name != pattern and "." not in name):
            raise ConfigError(
                f"AIDIAL_FORWARD_AUTH_HOSTS: {item!r} is not a host name or '*.' and a "
                "domain with a dot (e.g. wiki.example.com or *.example.com; no scheme, port "
                "or path)"
            )
        patterns.append(pattern)
    return tuple(patterns)


def _cookie_domain(raw: str, base_url: str) -> str:
    """`AIDIAL_SESSION_COOKIE_DOMAIN`: a domain holding the portal's own host, or a browser
    would drop the session cookie and nobody could sign in."""
    domain = raw.strip().lower()
    if not domain:
        return ""
    name = domain.removeprefix(".")
    host = (urlsplit(base_url.strip()).hostname or "").lower()
    if not _HOST_NAME.match(name) or "." not in name:
        raise ConfigError(
            f"AIDIAL_SESSION_COOKIE_DOMAIN must be a domain name such as .example.com, "
            f"not {raw.strip()!r}"
        )
    if host != name and not host.endswith("." + name):
        raise ConfigError(
            f"AIDIAL_SESSION_COOKIE_DOMAIN {raw.strip()!r} does not hold the portal's host "
            f"{host!r} (AIDIAL_BASE_URL): browsers would refuse the session cookie"
        )
    return domain


def _time_zone(value: str) -> str:
    name = value.strip() or DEFAULT_TIME_ZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"AIDIAL_TIME_ZONE: {name!r} is not an IANA time zone name (e.g. Australia/Sydney)"
        ) from None
    return name


def _evidence_mode(value: str) -> Source:
    try:
        return Source(value.strip().lower())
    except ValueError:
        raise ConfigError(
            f"AIDIAL_MFA_EVIDENCE must be 'session' or 'amr', not {value!r}"
        ) from None


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in {"", "0", "false", "no", "off"}:
        return False
    if raw in {"1", "true", "yes", "on"}:
        return True
    raise ConfigError(f"{name} must be 1 or 0, not {raw!r}")


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    return _whole_number(env, name, default, minimum=1, unit="seconds")


def _whole_number(
    env: Mapping[str, str],
    name: str,
    default: int,
    *,
    minimum: int,
    maximum: int | None = None,
    unit: str = "",
) -> int:
    """A whole number from `name` (`default` when unset), refused outside minimum..maximum."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number{f' of {unit}' if unit else ''}") from None
    if maximum is not None and not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum} {unit}".rstrip())
    if value < minimum:
        raise ConfigError(
            f"{name} must be positive" if minimum == 1 else f"{name} must not be negative"
        )
    return value


MAX_CLOCK_SKEW = 5  # seconds: Zitadel's own limit for an application's clock skew


def _skew(env: Mapping[str, str]) -> int:
    """`AIDIAL_OIDC_CLOCK_SKEW`: the application's clock skew set in Zitadel, in seconds."""
    name = "AIDIAL_OIDC_CLOCK_SKEW"
    return _whole_number(env, name, 0, minimum=0, maximum=MAX_CLOCK_SKEW, unit="seconds")


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name} must be a port number between 1 and 65535")
    return int(raw)


def _role_table(raw: str) -> dict[str, str]:
    """`AIDIAL_ROLE_POLICY=role:required,other_role:optional` adds or overrides table rows."""
    table: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        role, _, requirement = item.partition(":")
        table[role.strip()] = requirement.strip()
    return table


def _accepted_factors(raw: str) -> frozenset[Factor]:
    """`AIDIAL_ACCEPTED_FACTORS=totp,recovery_code,passkey`: empty means the user guide's."""
    names = _names(raw)
    if not names:
        return DEFAULT_ACCEPTED_FACTORS
    try:
        return parse_factors(names)
    except ValueError as error:
        known = ", ".join(factor.value for factor in NAMED_FACTORS)
        raise ConfigError(f"AIDIAL_ACCEPTED_FACTORS names an {error}; use {known}") from None


def _role_levels(raw: str) -> Mapping[str, Level]:
    """`AIDIAL_ROLE_LEVELS=aidial_admin:phishing_resistant,...`: each role's level."""
    pairs: dict[str, str] = {}
    for item in _names(raw):
        role, colon, level = (part.strip() for part in item.partition(":"))
        if not role or not colon:
            raise ConfigError(f"AIDIAL_ROLE_LEVELS entry {item!r} must be ROLE:LEVEL")
        pairs[role] = level
    try:
        return parse_levels(pairs)
    except ValueError as error:
        known = ", ".join(level.value for level in Level)
        raise ConfigError(f"AIDIAL_ROLE_LEVELS names an {error}; use {known}") from None


def _names(raw: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def _optional_path(raw: str) -> Path | None:
    return Path(raw.strip()).absolute() if raw.strip() else None


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    return _whole_number(env, name, default, minimum=0)


def _workers(env: Mapping[str, str]) -> int | None:
    """`AIDIAL_WORKERS`: empty or 0 leaves the choice to `serve`."""
    return _whole_number(env, "AIDIAL_WORKERS", 0, minimum=0, unit="processes") or None


def _loopback_listen(env: Mapping[str, str], name: str) -> tuple[str, int] | None:
    """`HOST:PORT` (`[::1]:PORT` for IPv6) on a loopback address, or None when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{name} must be HOST:PORT, e.g. 127.0.0.1:9102, not {raw!r}")
    if not is_loopback(host):
        raise ConfigError(
            f"{name} must be a loopback address (127.0.0.1 or [::1]): its listener needs no "
            f"token, so nothing off this host may reach it; not {raw!r}"
        )
    return host, int(port)


def _organisation_id(env: Mapping[str, str], name: str) -> str:
    """A Zitadel organisation id (digits; letters, `-` and `_` allowed for other formats)."""
    raw = env.get(name, "").strip()
    if raw and not all(ch.isalnum() or ch in "-_" for ch in raw):
        raise ConfigError(f"{name} must be a Zitadel organisation id (e.g. 2847...), not {raw!r}")
    return raw


def _rate_limits(env: Mapping[str, str]) -> RateLimits:
    """`AIDIAL_RATE_LIMIT_LOGIN=30/m`, ...: a count, `/`, then `s`, `m`, `h` or `d`, optionally
    with a multiple (`10/10m`)."""
    rates = dict(DEFAULT_RATE_LIMITS)
    for name in DEFAULT_RATE_LIMITS:
        variable = f"AIDIAL_RATE_LIMIT_{name.upper()}"
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        if not _RATE.match(raw):
            raise ConfigError(
                f"{variable} must be a count per period like 30/m, 10/10m or 1000/h, not {raw!r}"
            )
        rates[name] = raw
    return RateLimits(rates)
