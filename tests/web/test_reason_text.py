"""Every reason a person can be shown has words: a missing entry would be a server error."""

import pytest

from aidial_portal.mfa.compliance import Reason
from aidial_portal.support.refusals import REFUSALS
from aidial_portal.support.secret_guard import SecretKind
from aidial_portal.web.gate import REASON_TEXT
from aidial_portal.web.security_status import REFUSAL_TEXT, ManagementRefusal


@pytest.mark.parametrize(
    ("table", "reasons"),
    [(REASON_TEXT, Reason), (REFUSAL_TEXT, ManagementRefusal), (REFUSALS, SecretKind)],
    ids=["gate", "management", "support"],
)
def test_every_reason_has_words_for_people(table, reasons):
    assert set(table) == set(reasons)
