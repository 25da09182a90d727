"""The security event viewer's query: scoped like the report, filtered, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from aidial_portal.accounts.permissions import Scope
from aidial_portal.administration import event_text
from aidial_portal.audit.events import ALL_EVENT_TYPES
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.web.local_time import zone_name
from aidial_portal.web.pagination import Ordering

NEWEST_FIRST = Ordering("at", descending=True)
_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class EventFilter(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = zone_name()
        self.fields["since"].label = f"From ({zone})"
        self.fields["until"].label = f"Until ({zone})"

    account = forms.CharField(
        label="Account",
        required=False,
        max_length=255,
        help_text="Sign-in name or email address, exactly.",
    )
    event_type = forms.ChoiceField(
        label="Event type",
        required=False,
        choices=[
            ("", "Any event"),
            *((e.value, event_text.title(e.value)) for e in ALL_EVENT_TYPES),
        ],
    )
    # In AIDIAL_TIME_ZONE, as the page's times (Django reads a naive input in TIME_ZONE).
    since = forms.DateTimeField(
        label="From",
        required=False,
        input_formats=_DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    until = forms.DateTimeField(
        label="Until",
        required=False,
        input_formats=_DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


@dataclass(frozen=True)
class EventQuery:
    scope: Scope
    account: str = ""
    event_type: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_form(cls, form: EventFilter, scope: Scope) -> EventQuery:
        data = form.cleaned_data if form.is_valid() else {}
        return cls(
            scope=scope,
            account=(data.get("account") or "").strip(),
            event_type=data.get("event_type") or "",
            since=_utc(data.get("since")),
            until=_utc(data.get("until")),
        )

    def events(self) -> QuerySet[SecurityEvent]:
        # Events without an account (a rejected sign-in, a purge) belong to no organisation:
        # only the global scope sees them.
        events = SecurityEvent.objects.filter(self.scope.accounts("account__"))
        if self.account:
            events = events.filter(
                Q(account__login_name=self.account) | Q(account__email=self.account)
            )
        if self.event_type:
            events = events.filter(event_type=self.event_type)
        if self.since is not None:
            events = events.filter(at__gte=self.since)
        if self.until is not None:
            events = events.filter(at__lt=self.until)
        return events.select_related("account")


def _utc(moment: datetime | None) -> datetime | None:
    """The form's times are in the portal's zone (AIDIAL_TIME_ZONE), as the page says."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
