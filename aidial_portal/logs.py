"""One JSON object per log line, with the request id of the request that wrote it.

A log line holds known, safe fields only. Libraries attach whatever they like to their records
(Django puts the whole request on every 5xx and 4xx record: path, query string, cookies), so
the formatter never writes a record's attributes wholesale: it writes the fields named in
`SAFE_FIELDS` when they hold plain values, the request's method and path (never its query
string), and the message with any query string and any long opaque run (a token, a code, a
session key) replaced by a marker. Exceptions are written as their type only: their messages
may quote request data.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REDACTED = "[redacted]"

# `extra=` fields the portal writes on purpose, all tags, ids, counts or hashes. Anything else
# on a record (a request, a response, a library's arguments) is dropped.
SAFE_FIELDS = frozenset(
    {
        "security_event",
        "account_id",
        "reason",
        "details",
        "session_hash",
        "roles",
        "error_type",
        "status_code",
        "count",
        "source",
        "window_seconds",
        "support_request",
    }
)

# A query string: everything after `?` up to a blank or a quote.
_QUERY = re.compile(r"\?[^\s\"'<>]*")
# Long opaque runs: a token, an authorization code, a session key, a JWT segment. Words with
# no digit (`readiness_database_unavailable`) are kept up to 32 characters.
_OPAQUE = re.compile(r"[A-Za-z0-9_~+=-]{16,}")
_MAX_TEXT = 500


def scrub(text: str) -> str:
    """`text` without query strings or long opaque runs, and no longer than a log line needs."""
    text = _QUERY.sub("?" + REDACTED, text)
    text = _OPAQUE.sub(_redact_run, text)
    return text[:_MAX_TEXT]


def _redact_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if len(run) <= 32 and not any(ch.isdigit() for ch in run):
        return run
    return REDACTED


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "event": scrub(_message(record)),
            # Ours, or an incoming X-Request-Id that RequestIdMiddleware checked.
            "request_id": str(getattr(record, "request_id", request_id.get()))[:64],
        }
        for key in SAFE_FIELDS:
            if key in record.__dict__:
                value = _plain(record.__dict__[key])
                if value is not _DROP:
                    entry[key] = value
        request = record.__dict__.get("request")
        if request is not None:
            # Django's request records: what was asked for, never the query, body or cookies.
            entry["method"] = scrub(str(getattr(request, "method", "") or ""))
            entry["path"] = scrub(str(getattr(request, "path", "") or ""))
        if record.exc_info:
            entry["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(entry)


_DROP = object()


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a library's bad format string must not lose the line
        return str(record.msg)


def _plain(value: object) -> object:
    """A JSON-safe copy of a plain value (strings scrubbed), or _DROP for anything else."""
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple | frozenset | set):
        items = [_plain(item) for item in value]
        if all(item is not _DROP and not isinstance(item, list | dict) for item in items):
            return items
        return _DROP
    if isinstance(value, Mapping):
        clean: dict[str, object] = {}
        for key, item in value.items():
            plain = _plain(item)
            if isinstance(key, str) and plain is not _DROP and not isinstance(plain, dict):
                clean[scrub(key)] = plain
        return clean
    return _DROP
