"""Back-channel logout: the provider says a session ended; end the portal sessions bound to it.

The token is validated by `identity.tokens.logout_token_claims`; its `jti` is spent in storage
every instance shares (Redis when configured, the database otherwise), so a replay is refused on
any instance; the sessions are ended in the shared session store, so every instance sees it on the
next request. One security event per logout, with the number of sessions ended.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from joserfc.jwk import KeySet

from aidial_portal import metrics
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.identity import oidc, providers
from aidial_portal.identity.tokens import (
    LOGOUT_TOKEN_MAX_AGE,
    KeySource,
    logout_token_claims,
)
from aidial_portal.sessions import index
from aidial_portal.sessions.models import SpentLogoutToken

logger = logging.getLogger("aidial_portal.sessions")


# How often one source may make the portal fetch the provider's keys again for a logout token
# naming a key it does not know (the directory's own limit is per process, for everyone).
KEY_REFRESH_PER_SOURCE_SECONDS = 60


@dataclass(frozen=True)
class SourceLimitedKeys:
    """The provider's keys, with the unknown-kid refresh limited per source."""

    keys_of: KeySource
    source: str

    def keys(self) -> KeySet:
        return self.keys_of.keys()

    def refresh(self) -> KeySet | None:
        digest = hashlib.blake2b(self.source.encode(), digest_size=12).hexdigest()
        try:
            allowed = cache.add(
                f"aidial:jwks-refresh:{digest}", 1, timeout=KEY_REFRESH_PER_SOURCE_SECONDS
            )
        except Exception:  # the cache is down: the directory's own limit still holds
            allowed = True
        return self.keys_of.refresh() if allowed else None


def log_out(logout_token: str, *, now: float, source: str = "") -> int:
    """Validate `logout_token` (sent from `source`, a client address), end the sessions it
    names; the number ended.

    A token already processed (on any instance) ends nothing and counts 0. Raises
    `LogoutTokenRejected` (nothing ended) or the directory's `ProviderUnavailable`.
    """
    config = settings.AIDIAL
    # The audiences trusted exactly as for ID tokens: the client, the project id and the
    # other applications of the project.
    policy = oidc.token_policy(config)
    keys = SourceLimitedKeys(providers.directory(), source)
    token = logout_token_claims(logout_token, policy=policy, keys=keys, now=now)
    digest = _jti_digest(config.issuer, token.jti)
    if not spend(digest, iat=token.iat, now=now, leeway=policy.leeway):
        # Zitadel retries a delivery (up to 3 times in 5 minutes) with the same `jti`, and logs
        # a 400 as an error: a token already processed is acknowledged and does nothing twice.
        logger.info("backchannel_logout_repeated")
        return 0
    try:
        ended, accounts = index.end_sessions(sid=token.sid, subject=token.sub)
    except Exception:
        # Nothing (or not everything) was ended: the provider's retry must not be "replayed".
        unspend(digest)
        raise
    owners = set(accounts)
    record(
        EventTag.Session.BACKCHANNEL_LOGOUT,
        account_id=owners.pop() if len(owners) == 1 else None,
        details={"ended": ended, "by": "sid" if token.sid else "sub"},
    )
    metrics.SESSIONS_ENDED.labels(reason="backchannel_logout").inc(ended)
    logger.info("backchannel_logout", extra={"ended": ended})
    return ended


def _jti_digest(issuer: str, jti: str) -> str:
    return hashlib.sha256(f"{issuer}\0{jti}".encode()).hexdigest()


def spend(digest: str, *, iat: int, now: float, leeway: int) -> bool:
    """Mark a `jti` (its digest) used; False when it was used before (on any instance).

    It is kept until the token would be refused as stale anyway.
    """
    keep_until = max(iat, int(now)) + LOGOUT_TOKEN_MAX_AGE + 2 * leeway
    if settings.AIDIAL.redis_url:
        return bool(cache.add(f"logout-jti:{digest}", 1, timeout=max(1, keep_until - int(now))))
    expires_at = datetime.fromtimestamp(keep_until, UTC)
    current = datetime.fromtimestamp(now, UTC)
    try:
        with transaction.atomic():
            SpentLogoutToken.objects.create(jti_hash=digest, expires_at=expires_at)
    except IntegrityError:
        return False
    SpentLogoutToken.objects.filter(expires_at__lt=current - timedelta(seconds=1)).delete()
    return True


def unspend(digest: str) -> None:
    if settings.AIDIAL.redis_url:
        cache.delete(f"logout-jti:{digest}")
    else:
        SpentLogoutToken.objects.filter(jti_hash=digest).delete()
