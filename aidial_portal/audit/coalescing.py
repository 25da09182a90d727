"""Refusals that anyone can repeat at will, written to the append-only log without flooding it.

Every unauthenticated `GET /oidc/callback/?state=junk`, and every request the gate denies, would
otherwise write a row. Here each (event, source, reason) gets one counter per one-minute window,
in the cache (Redis when configured, so every instance shares it; the process's local memory
otherwise):

- the first occurrence in a window writes the event, with `count: 1` and, when the same source
  and reason were seen in an earlier window, that window's final count (`previous_count`);
- the 10th, 100th, 1000th ... occurrence in the window writes the event again with its count;
- every other occurrence only increments the counter: no query, no row.

So a thousand junk callbacks from one address in a minute write four rows (1, 10, 100, 1000),
and no count is lost: each window's total reaches the log with the source's next refusal, and
Prometheus counts every single one. Only refusals come through here; sign-ins, refreshes,
acknowledgements and launches are always written one row each.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Mapping

from django.core.cache import cache

from aidial_portal.audit.events import EventType
from aidial_portal.audit.recording import Detail, record
from aidial_portal.client_address import client_source

logger = logging.getLogger("aidial_portal.security")

WINDOW_SECONDS = 60
clock = time.time  # tests hold it still
# Counters outlive their window so that a refusal within the hour can still report the last
# window's total; no longer, so that a flood of fresh addresses leaves nothing for days.
KEEP_SECONDS = 60 * 60
# Distinct addresses counted on their own per window; past it, new addresses of that window
# share one aggregate counter (`sources: many`), so fresh addresses cannot create keys at will.
MAX_SOURCES_PER_WINDOW = 200
AGGREGATE_SOURCE = "address:many"


def record_refusal(
    event_type: EventType,
    *,
    source: str,
    reason: str,
    account_id: int | None = None,
    session_key: str | None = None,
    details: Mapping[str, Detail] | None = None,
    now: float | None = None,
) -> bool:
    """Count one refusal of `source` (an account or an address) and write it when it is the
    first of its window or reaches a power of ten. Returns whether a row was written."""
    window = int((clock() if now is None else now) // WINDOW_SECONDS)
    key = _key(event_type, source, reason)
    aggregated = False
    try:
        if source.startswith("address:") and _over_the_cap(f"{key}:{window}", window):
            key, aggregated = _key(event_type, AGGREGATE_SOURCE, reason), True
        count = _increment(f"{key}:{window}")
        previous = _previous_count(key, window) if count == 1 else None
    except Exception:  # the cache is down: write every refusal rather than lose one
        logger.warning("refusal_counter_unavailable", extra={"reason": reason})
        count, previous = 1, None
    if not _is_written(count):
        return False
    written: dict[str, Detail] = {**(details or {}), "count": count}
    if aggregated:
        written["sources"] = "many"
    if previous is not None:
        written["previous_count"] = previous
    record(
        event_type,
        account_id=account_id,
        session_key=session_key,
        reason=reason,
        details=written,
    )
    return True


def refusal_source(request: object, account_id: int | None) -> str:
    """Whose refusal this is: the signed-in account, else the client's address (the one the
    trusted proxy forwards, with `AIDIAL_TRUST_PROXY`; an IPv6 address by its /64)."""
    if account_id is not None:
        return f"account:{account_id}"
    return f"address:{client_source(request)}"


def _over_the_cap(counter: str, window: int) -> bool:
    """Whether `counter` is a new address of this window beyond MAX_SOURCES_PER_WINDOW."""
    if cache.get(counter) is not None:
        return False
    sources = _increment(f"aidial:refusals:sources:{window}")
    return sources > MAX_SOURCES_PER_WINDOW


def _key(event_type: EventType, source: str, reason: str) -> str:
    # A digest: the source (an address, an account id) stays out of the cache's key space.
    digest = hashlib.blake2b(f"{event_type}|{source}|{reason}".encode(), digest_size=12)
    return f"aidial:refusals:{digest.hexdigest()}"


def _increment(counter: str) -> int:
    if cache.add(counter, 1, timeout=KEEP_SECONDS):
        return 1
    try:
        return int(cache.incr(counter))
    except ValueError:  # expired between add and incr
        cache.add(counter, 1, timeout=KEEP_SECONDS)
        return 1


def _previous_count(key: str, window: int) -> int | None:
    """The final count of the last earlier window with a refusal, once per window."""
    last = cache.get(f"{key}:last")
    cache.set(f"{key}:last", window, timeout=KEEP_SECONDS)
    if not isinstance(last, int) or last >= window:
        return None
    total = cache.get(f"{key}:{last}")
    return int(total) if isinstance(total, int) else None


def _is_written(count: int) -> bool:
    if count == 1:
        return True
    power = round(math.log10(count))
    return 10**power == count
