"""Reminder e-mails: one row per reminder that can be sent again (a person's, or an
organisation's digest), holding when it was last sent and whether a run is sending it now.

The row is the lock: a run sends a reminder only after claiming its row with one conditional
UPDATE, so two runs at once never send the same one; a failed send releases the claim, so the
next run tries again. Each mail sent is also a `reminder_sent` security event (who, when, kind).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from aidial_portal.accounts.models import Account


class Reminder(models.Model):
    PERSON = "person"
    DIGEST = "organisation_digest"
    KINDS = [(PERSON, "Reminder to a person"), (DIGEST, "Digest to an organisation's admins")]

    kind = models.CharField(max_length=24, choices=KINDS)
    # A person's reminder: the person. An organisation's digest: the organisation's id.
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE)
    org_id = models.CharField(max_length=255, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)  # a run is sending it now
    last_sent_at = models.DateTimeField(null=True, blank=True)
    times_sent = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(kind="person"), name="reminder_one_per_person"
            ),
            models.UniqueConstraint(
                fields=["org_id"],
                condition=Q(kind="organisation_digest"),
                name="reminder_one_digest_per_organisation",
            ),
        ]

    def __str__(self) -> str:
        target = self.org_id if self.kind == self.DIGEST else f"account {self.account_id}"
        return f"{self.kind} for {target}"
