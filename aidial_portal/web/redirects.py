"""`next` values: only same-origin relative paths survive; anything else becomes the dashboard."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.urls import reverse


def safe_next(value: str | None, default: str | None = None) -> str:
    """`value` if it is a path on this site, else `default` (the dashboard unless given)."""
    if default is None:
        default = reverse("dashboard")
    if not value or len(value) > 2000:
        return default
    # Browsers treat "\" as "/" and ignore tabs and newlines inside URLs, so refuse them
    # outright, in raw and in percent-decoded form.
    decoded = unquote(value)
    for candidate in (value, decoded):
        if "\\" in candidate or any(ord(char) < 0x21 or ord(char) == 0x7F for char in candidate):
            return default
    if not value.startswith("/") or value.startswith("//") or decoded.startswith("//"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
