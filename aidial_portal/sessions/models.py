"""Which portal session belongs to which Zitadel session and person, and spent logout tokens.

Rows hold the session store's hashed key (`sessions.backends.base.stored_key`), never a cookie
value, and a hash of each logout token's `jti`, never the token.
"""

from __future__ import annotations

from django.db import models


class SessionBinding(models.Model):
    """One signed-in portal session: written at sign-in, removed when the session ends."""

    stored_key = models.CharField(max_length=40, primary_key=True)
    # The Zitadel session id (`sid` in the ID token); empty when the token carried none.
    sid = models.CharField(max_length=128, blank=True)
    subject = models.CharField(max_length=255)
    account_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    # The absolute end of the session (`AIDIAL_SESSION_MAX_AGE` after sign-in).
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["sid"], name="binding_sid"),
            models.Index(fields=["subject"], name="binding_subject"),
            models.Index(fields=["expires_at"], name="binding_expires_at"),
        ]

    def __str__(self) -> str:
        return f"session binding until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class SpentLogoutToken(models.Model):
    """A logout token's `jti`, hashed, so that a replay is refused on every instance."""

    jti_hash = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"spent logout token until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class ProcessedProviderEvent(models.Model):
    """An Actions v2 event already acted on (a hash of its identity), so that a replay is
    refused on every instance. Written in the same transaction as the event's effects."""

    event_hash = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"processed provider event until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class KnownUserGrant(models.Model):
    """Whose Zitadel authorization (user grant) an id is: `user.grant.removed` names only the
    grant, so the user is learnt from the grant's `user.grant.added` event or from the
    directory sync, which lists every authorization with its id."""

    grant_id = models.CharField(max_length=128, primary_key=True)
    subject = models.CharField(max_length=255, db_index=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"user grant known since {self.updated_at:%Y-%m-%d %H:%M:%S}"
