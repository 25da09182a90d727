"""What the sign-in flow reads from the provider at the callback, side by side.

Who signed in (roles and profile: from the ID token, or from userinfo when it lacks them) and
the MFA evidence of this sign-in are separate provider calls with one budget: userinfo runs on
the shared executor while the evidence reader makes its own calls, so the callback waits for
the slowest of them, not for their sum.
"""

from __future__ import annotations

import time
from typing import Final

from aidial_portal.config import PortalConfig
from aidial_portal.identity import oidc
from aidial_portal.identity.discovery import ProviderDirectory
from aidial_portal.identity.oidc import Identity, SignIn, auth_time_of
from aidial_portal.identity.zitadel import EvidenceReader
from aidial_portal.mfa.evidence import Evidence

# Used when the evidence reader names no budget of its own.
DEFAULT_READ_BUDGET: Final = 3.0


def read_at_callback(
    sign_in: SignIn,
    *,
    config: PortalConfig,
    directory: ProviderDirectory,
    reader: EvidenceReader,
    budget: float | None = None,
) -> tuple[Identity, Evidence]:
    """Roles, profile and MFA evidence of a validated sign-in, read side by side.

    Evidence never raises (an unreadable provider gives evidence marked unavailable);
    userinfo that cannot be read within the budget refuses the sign-in (`oidc.ProviderDown`).
    """
    claims = sign_in.claims
    if budget is None:
        # The evidence reader's own budget, so that both reads end together.
        budget = getattr(reader, "timeout", DEFAULT_READ_BUDGET)
    deadline = time.monotonic() + budget
    userinfo = oidc.start_userinfo(sign_in, config=config, directory=directory, deadline=deadline)
    evidence = reader.read(
        sid=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
        sub=claims["sub"],
        amr=[value for value in claims.get("amr", []) if isinstance(value, str)],
        auth_time=auth_time_of(claims),
    )
    identity = oidc.identity_at_callback(sign_in, userinfo, config=config, deadline=deadline)
    return identity, evidence
