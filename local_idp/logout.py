"""Ending provider sessions: sign-out, `idp terminate-sessions`, and what follows from it."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from local_idp.models import IdpSession


def end_sessions(session_ids: Iterable[str]) -> list[str]:
    """End the sessions that are still active; the ids of those that ended now."""
    ids = list(session_ids)
    ended = list(
        IdpSession.objects.filter(pk__in=ids, terminated_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if ended:
        IdpSession.objects.filter(pk__in=ended, terminated_at__isnull=True).update(
            terminated_at=timezone.now()
        )
    return ended
