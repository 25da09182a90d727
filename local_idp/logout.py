"""Ending provider sessions: sign-out, `idp terminate-sessions`, and what follows from it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from local_idp.models import IdpSession


@dataclass(frozen=True)
class Ended:
    session_ids: list[str]
    notified: int  # back-channel logout tokens delivered


def end_sessions(session_ids: Iterable[str]) -> Ended:
    """End the sessions that are still active, then tell the clients they signed in to."""
    from local_idp import actions, backchannel

    ids = list(session_ids)
    now = timezone.now()
    ended = []
    for session_id in ids:
        # One conditional update each, so a session ends (and is announced) exactly once.
        won = IdpSession.objects.filter(pk=session_id, terminated_at__isnull=True).update(
            terminated_at=now
        )
        if won:
            ended.append(session_id)
    sessions = list(IdpSession.objects.filter(pk__in=ended).select_related("user"))
    notified = backchannel.notify(sessions)
    for session in sessions:  # and the `session.terminated` event, to Actions v2 targets
        actions.session_terminated(session)
    return Ended(ended, notified)


def active_session_ids(login: str) -> list[str]:
    return list(
        IdpSession.objects.filter(
            user__login_name__iexact=login.strip(),
            terminated_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).values_list("pk", flat=True)
    )
