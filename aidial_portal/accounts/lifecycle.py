"""Lifecycle changes a person makes on Settings: acknowledge, declare regeneration, launch
management. Each writes its marker change and its security events in one transaction."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from aidial_portal.accounts.models import Account
from aidial_portal.audit.events import LIFECYCLE_EVENTS
from aidial_portal.audit.recording import record
from aidial_portal.mfa.lifecycle import Input, Transition, advance


def change_lifecycle(request: HttpRequest, account_id: int, step: Input) -> Transition:
    """Apply one declaration, acknowledgement or launch under a row lock, so that two
    identical POSTs at once leave one result and one event."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        transition = advance(account.markers(), step)
        changed = account.set_markers(transition.markers)
        if changed:
            account.save(update_fields=changed)
        for change in transition.events:
            record(
                LIFECYCLE_EVENTS[change],
                account=account,
                session_key=request.session.session_key,
            )
    return transition
