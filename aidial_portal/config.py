"""The portal's settings, read once from the environment into one typed object.

Every variable is documented in the README; `checks.py` turns dangerous values into
Django system-check errors at start-up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from aidial_portal.mfa.compliance import DEFAULT_MFA_MAX_AGE
from aidial_portal.mfa.evidence import Source

CHECKOUT = Path(__file__).resolve().parents[1]
DATA_DIR = CHECKOUT / "var"
LOCAL_ISSUER = "http://127.0.0.1:8080"
DEFAULT_STEP_UP_MAX_AGE = 900
# Session lifetimes (README, "Session lifetimes", justifies them against NIST SP 800-63B-4 AAL2
# and OWASP ASVS 5.0).
DEFAULT_SESSION_MAX_AGE = 12 * 60 * 60
DEFAULT_SESSION_IDLE_TIMEOUT = 60 * 60
SECURITY_PAGE_PATH = "/ui/console/users/me?id=security"


@dataclass(frozen=True)
class PortalConfig:
    base_url: str = "http://127.0.0.1:8000"
    issuer: str = LOCAL_ISSUER
    client_id: str = "aidial-portal-dev"
    client_secret: str = ""
    extra_audiences: frozenset[str] = frozenset()
    api_url: str = LOCAL_ISSUER
    # Secrets stay out of repr(): settings appear on debug error pages.
    service_token: str = field(default="", repr=False)
    service_key_file: str = ""
    evidence_mode: Source = Source.SESSION
    mfa_max_age: int = DEFAULT_MFA_MAX_AGE
    step_up_max_age: int = DEFAULT_STEP_UP_MAX_AGE
    security_url: str = LOCAL_ISSUER + SECURITY_PAGE_PATH
    management_url: str = LOCAL_ISSUER + SECURITY_PAGE_PATH
    role_table: Mapping[str, str] = field(default_factory=dict)
    metrics_token: str = ""
    session_max_age: int = DEFAULT_SESSION_MAX_AGE
    session_idle_timeout: int = DEFAULT_SESSION_IDLE_TIMEOUT

    @property
    def redirect_uri(self) -> str:
        return self.base_url.rstrip("/") + "/oidc/callback/"

    @property
    def is_public_client(self) -> bool:
        return not self.client_secret


def from_env(env: Mapping[str, str]) -> PortalConfig:
    """Read the AIDIAL_* variables. Malformed numbers raise ValueError naming the variable."""
    issuer = env.get("AIDIAL_OIDC_ISSUER", LOCAL_ISSUER).rstrip("/")
    security_url = env.get("AIDIAL_PROVIDER_SECURITY_URL", issuer + SECURITY_PAGE_PATH)
    return PortalConfig(
        base_url=env.get("AIDIAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        issuer=issuer,
        client_id=env.get("AIDIAL_OIDC_CLIENT_ID", "aidial-portal-dev"),
        client_secret=env.get("AIDIAL_OIDC_CLIENT_SECRET", ""),
        extra_audiences=frozenset(
            value.strip()
            for value in env.get("AIDIAL_OIDC_EXTRA_AUDIENCES", "").split(",")
            if value.strip()
        ),
        api_url=env.get("AIDIAL_ZITADEL_API_URL", issuer).rstrip("/"),
        service_token=env.get("AIDIAL_ZITADEL_SERVICE_TOKEN", ""),
        service_key_file=env.get("AIDIAL_ZITADEL_SERVICE_KEY_FILE", "").strip(),
        evidence_mode=_evidence_mode(env.get("AIDIAL_MFA_EVIDENCE", "session")),
        mfa_max_age=_seconds(env, "AIDIAL_MFA_MAX_AGE", DEFAULT_MFA_MAX_AGE),
        step_up_max_age=_seconds(env, "AIDIAL_STEP_UP_MAX_AGE", DEFAULT_STEP_UP_MAX_AGE),
        security_url=security_url,
        management_url=env.get("AIDIAL_PROVIDER_MANAGEMENT_URL", security_url),
        role_table=_role_table(env.get("AIDIAL_ROLE_POLICY", "")),
        metrics_token=env.get("AIDIAL_METRICS_TOKEN", ""),
        session_max_age=_seconds(env, "AIDIAL_SESSION_MAX_AGE", DEFAULT_SESSION_MAX_AGE),
        session_idle_timeout=_seconds(
            env, "AIDIAL_SESSION_IDLE_TIMEOUT", DEFAULT_SESSION_IDLE_TIMEOUT
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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _evidence_mode(value: str) -> Source:
    try:
        return Source(value.strip().lower())
    except ValueError:
        raise ValueError(f"AIDIAL_MFA_EVIDENCE must be 'session' or 'amr', not {value!r}") from None


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of seconds") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value


def _role_table(raw: str) -> dict[str, str]:
    """`AIDIAL_ROLE_POLICY=role:required,other_role:optional` adds or overrides table rows."""
    table: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        role, _, requirement = item.partition(":")
        table[role.strip()] = requirement.strip()
    return table
