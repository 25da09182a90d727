"""The development outbox: one-time codes "sent" by SMS or e-mail land in a file in the data
directory (mode 0600), one JSON object per line, read with ``idp outbox --login NAME``.

The server never logs or prints a code; only this file holds it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.utils import timezone

from local_idp import config

OUTBOX_FILE = "outbox.jsonl"


def path() -> Path:
    return config.data_dir() / OUTBOX_FILE


def deliver(login: str, channel: str, to: str, code: str, purpose: str) -> None:
    target = path()
    config.ensure_private_dir(target.parent)
    line = json.dumps(
        {
            "at": timezone.now().isoformat(),
            "login": login,
            "channel": channel,
            "to": to,
            "code": code,
            "purpose": purpose,
        }
    )
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def messages(login: str) -> list[dict[str, Any]]:
    """The messages sent to ``login``, oldest first."""
    try:
        lines = path().read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if str(message.get("login", "")).lower() == login.strip().lower():
            found.append(message)
    return found
