"""E-mailing stored support requests to the AiDial team, through Django's e-mail framework.

A request is stored first (the view does that); only then is it e-mailed. Each attempt first
claims the row (pending or failed -> sending) so that the request page and `aidial-portal
support resend` never send one request twice at once, then records the outcome: sent, or
failed with the kind of error. The e-mail holds what the person wrote, which the secret guard
already let through, and who they are: never a session, cookie or token.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from aidial_portal.mfa.policy import ROLE_TITLES
from aidial_portal.support.models import Delivery, SupportRequest
from aidial_portal.web.local_time import local_time

logger = logging.getLogger("aidial_portal.support")

# An attempt that has not finished after this long died with its process: try it again.
STALE_SENDING = timedelta(minutes=5)
RETRYABLE = (Delivery.PENDING, Delivery.FAILED)


def deliver(support_request: SupportRequest) -> str:
    """E-mail one stored request now, if e-mail is configured; returns its delivery state."""
    config = settings.AIDIAL
    if not config.support_email_enabled:
        SupportRequest.objects.filter(pk=support_request.pk, delivery=Delivery.PENDING).update(
            delivery=Delivery.NOT_CONFIGURED
        )
        return Delivery.NOT_CONFIGURED
    now = timezone.now()
    if not _claim(support_request.pk, now):
        return SupportRequest.objects.values_list("delivery", flat=True).get(pk=support_request.pk)
    try:
        _message(support_request).send(fail_silently=False)
    except (smtplib.SMTPException, OSError, ValueError) as error:  # ValueError: a bad header
        kind = type(error).__name__[:64]
        SupportRequest.objects.filter(pk=support_request.pk).update(
            delivery=Delivery.FAILED, delivery_error=kind
        )
        logger.warning(
            "support_email_failed",
            extra={"support_request": support_request.pk, "error_type": kind},
        )
        return Delivery.FAILED
    SupportRequest.objects.filter(pk=support_request.pk).update(
        delivery=Delivery.SENT, delivered_at=timezone.now(), delivery_error=""
    )
    logger.info("support_email_sent", extra={"support_request": support_request.pk})
    return Delivery.SENT


def waiting(now: datetime | None = None) -> Iterable[SupportRequest]:
    """Requests that still have to reach the team: failed, never tried, or stuck sending."""
    stale = (now or timezone.now()) - STALE_SENDING
    return (
        SupportRequest.objects.select_related("account")
        .filter(Q(delivery__in=RETRYABLE) | Q(delivery=Delivery.SENDING, last_attempt_at__lt=stale))
        .order_by("created_at", "id")
    )


def _claim(pk: int, now: datetime) -> bool:
    stale = now - STALE_SENDING
    return (
        SupportRequest.objects.filter(pk=pk)
        .filter(Q(delivery__in=RETRYABLE) | Q(delivery=Delivery.SENDING, last_attempt_at__lt=stale))
        .update(
            delivery=Delivery.SENDING,
            last_attempt_at=now,
            delivery_attempts=F("delivery_attempts") + 1,
        )
        == 1
    )


def _message(support_request: SupportRequest) -> EmailMessage:
    config = settings.AIDIAL
    account = support_request.account
    subject = " ".join(support_request.subject.split())  # header lines never break
    roles = ", ".join(f"{ROLE_TITLES.get(role, role)} ({role})" for role in account.roles)
    body = "\n".join(
        [
            "A support request was sent from the AiDial Portal.",
            "",
            f"Request: #{support_request.pk}",
            f"Sent: {local_time(support_request.created_at, long_month=True)}",
            f"From: {account.login_name or account.subject}",
            f"E-mail: {account.email or 'not known'}",
            f"Name: {account.display_name or 'not known'}",
            f"Organisation: {account.org_domain or account.org_id or 'not known'}",
            f"Roles: {roles or 'none'}",
            "",
            f"Subject: {subject}",
            "",
            support_request.message,
            "",
            "--",
            "Reply to the person by e-mail. Never ask them for recovery codes, one-time codes,",
            "authenticator set-up keys, cookies or tokens.",
            f"All requests: {absolute_url(config.base_url, reverse('support:requests'))}",
        ]
    )
    reply_to = [account.email] if "@" in account.email else []
    return EmailMessage(
        subject=f"[AiDial Portal support #{support_request.pk}] {subject}",
        body=body,
        from_email=config.email_from,
        to=list(config.support_email_to),
        reply_to=reply_to,
    )


def absolute_url(base_url: str, path: str) -> str:
    """`path` from `reverse()` under `AIDIAL_BASE_URL`: reverse() already carries the mount
    prefix (the script prefix), and so does the base URL, so it is taken off once."""
    inside = path.removeprefix(get_script_prefix().rstrip("/"))
    return base_url.rstrip("/") + "/" + inside.lstrip("/")
