"""The append-only security event table."""

from __future__ import annotations

from typing import Any

from django.db import models

from aidial_portal.audit.events import is_event_type


class AppendOnlyError(Exception):
    """Security events are never edited or deleted through the app."""


class SecurityEventQuerySet(models.QuerySet["SecurityEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("security events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("security events are append-only")


class SecurityEvent(models.Model):
    # No `choices`: a new type in audit/events.py needs no migration; save() checks the tag.
    event_type = models.CharField(max_length=40)
    at = models.DateTimeField(db_index=True)
    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    session_hash = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = SecurityEventQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["account", "-at"], name="event_account_at"),
            models.Index(fields=["event_type", "-at"], name="event_type_at"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} at {self.at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("security events are append-only")
        if not is_event_type(self.event_type):
            raise ValueError(f"unknown security event type {self.event_type!r}")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("security events are append-only")
