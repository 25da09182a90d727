"""Support requests. Only messages the secret guard let through are ever stored."""

from __future__ import annotations

from django.db import models

SUBJECT_MAX = 200
MESSAGE_MAX = 5000


class SupportRequest(models.Model):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="support_requests"
    )
    subject = models.CharField(max_length=SUBJECT_MAX)
    message = models.TextField(max_length=MESSAGE_MAX)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="support_request_newest")]

    def __str__(self) -> str:
        return self.subject
