"""Support requests. Only messages the secret guard let through are ever stored."""

from __future__ import annotations

from django.db import models

SUBJECT_MAX = 200
MESSAGE_MAX = 5000


class Delivery(models.TextChoices):
    """Where a stored request stands on its way to the AiDial team's mailbox."""

    PENDING = "pending", "Waiting to be emailed"
    SENDING = "sending", "Being emailed"
    SENT = "sent", "Emailed"
    FAILED = "failed", "Email failed"
    NOT_CONFIGURED = "not_configured", "Kept in the portal (email not configured)"


class SupportRequest(models.Model):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="support_requests"
    )
    subject = models.CharField(max_length=SUBJECT_MAX)
    message = models.TextField(max_length=MESSAGE_MAX)
    created_at = models.DateTimeField(db_index=True)
    # Stored before any e-mail is attempted, so an outage loses nothing.
    delivery = models.CharField(
        max_length=16, choices=Delivery.choices, default=Delivery.PENDING, db_index=True
    )
    delivery_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The kind of failure (an exception class name), never the server's words.
    delivery_error = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="support_request_newest")]

    def __str__(self) -> str:
        return self.subject
