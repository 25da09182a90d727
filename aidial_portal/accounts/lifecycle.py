"""Lifecycle changes a person makes on Settings: acknowledge, declare a review or a
regeneration, launch set-up, the provider link or management. Each writes its marker change
and its security events in one transaction."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from aidial_portal.accounts.models import Account
from aidial_portal.audit.events import LIFECYCLE_EVENTS
from aidial_portal.audit.recording import record
from aidial_portal.mfa.lifecycle import Change, Input, Transition, advance


def change_lifecycle(request: HttpRequest, account_id: int, *steps: Input) -> Transition:
    """Apply declarations, acknowledgements or launches in order under a row lock, so that
    two identical POSTs at once leave one result and one set of events."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        markers = account.markers()
        changes: list[Change] = []
        for step in steps:
            transition = advance(markers, step)
            markers = transition.markers
            changes.extend(transition.events)
        changed = account.set_markers(markers)
        if changed:
            account.save(update_fields=changed)
        for change in changes:
            record(
                LIFECYCLE_EVENTS[change],
                account=account,
                session_key=request.session.session_key,
            )
    return Transition(markers, tuple(changes))
