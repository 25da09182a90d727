"""Which audiences a portal must trust for a client of the local provider.

Zitadel lists every application of the project in an ID token's `aud`, and the portal trusts
only the audiences it is told about (`AIDIAL_OIDC_EXTRA_AUDIENCES`, besides the client id and
`AIDIAL_ZITADEL_PROJECT_ID`). Suites and benchmarks that share one provider (and so its one
project) read the other client ids from its database.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def other_applications(data_dir: Path, client_id: str) -> frozenset[str]:
    """The client ids of the project's other applications, as they stand now."""
    database = sqlite3.connect(data_dir / "idp.sqlite3")
    try:
        rows = database.execute("SELECT client_id FROM local_idp_client").fetchall()
    finally:
        database.close()
    return frozenset(row[0] for row in rows) - {client_id}
