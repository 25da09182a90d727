"""docs/zitadel-setup.md says what the portal does: the read-only role for the service user, the
event types the receiver acts on (Zitadel's own names), and every check message."""

from __future__ import annotations

import re
from pathlib import Path

from aidial_portal.accounts import provider_events

GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "zitadel-setup.md").read_text()


def section(title: str) -> str:
    start = GUIDE.index(title)
    following = GUIDE.find("\n## ", start + 1)
    return GUIDE[start : following if following != -1 else None]


def test_the_service_user_is_given_the_read_only_instance_role() -> None:
    service_user = section("## 3. The service user")
    assert "`IAM_OWNER_VIEWER`" in service_user
    assert "every role that holds both also writes" not in GUIDE
    assert "built-in role that holds both holds more" not in GUIDE


def test_the_executions_to_create_are_the_event_types_the_receiver_acts_on() -> None:
    events = section("## 7. Events from Zitadel")
    step = events[events.index("2. **Executions.**") : events.index("3. **Permission.**")]
    listed = set(re.findall(r"`((?:user|session)\.[a-z.]+)`", step))
    handled = (
        provider_events.USER_ENDED
        | provider_events.GRANT_ENDED
        | {provider_events.GRANT_ADDED, provider_events.TOTP_REMOVED}
        | {provider_events.SESSION_TERMINATED}
    )
    assert listed
    assert listed <= handled


def test_every_warning_the_events_and_back_channel_checks_give_is_explained() -> None:
    table = section("## 5. Check it")
    for message in ("aidial.W011", "aidial.W012"):
        assert f"`{message}`" in table
