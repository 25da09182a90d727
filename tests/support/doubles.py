"""Test doubles for the portal's interfaces at the edges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aidial_portal.mfa.evidence import Evidence


@dataclass
class StaticEvidenceReader:
    """A test double: returns `evidence` and remembers what it was asked."""

    evidence: Evidence
    calls: list[dict[str, Any]] = field(default_factory=list)

    def read(
        self,
        *,
        sid: str | None,
        sub: str,
        amr: Sequence[str],
        auth_time: datetime | None = None,
    ) -> Evidence:
        self.calls.append({"sid": sid, "sub": sub, "amr": list(amr), "auth_time": auth_time})
        return self.evidence
