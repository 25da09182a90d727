from __future__ import annotations

from django import forms

from aidial_portal.support.models import MESSAGE_MAX, SUBJECT_MAX


class SupportForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=SUBJECT_MAX)
    message = forms.CharField(
        label="Message",
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=(
            "Describe what you tried and what happened. Never include recovery codes, "
            "authenticator seeds or QR codes, one-time codes, cookies or tokens."
        ),
    )
