"""Settings and the dashboard in every lifecycle state a person can be in: each status line is
true, and there is never more than one prompt, with one primary action."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from aidial_portal.mfa.evidence import Evidence, Factor
from aidial_portal.mfa.lifecycle import PendingReason
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class State:
    name: str
    roles: tuple[str, ...]
    seen: Evidence
    markers: dict[str, Any]
    prompt: str | None  # data-prompt of the one prompt, or None
    says: tuple[str, ...] = ()
    never_says: tuple[str, ...] = field(default=())


def _ago(**delta: int) -> Any:
    return timezone.now() - timedelta(**delta)


STATES = [
    State(
        "mandatory role, never enrolled",
        ("partner_admin",),
        evidence(enrolled=False, factor=None, recovery_codes=False),
        {"enrolled_observed": False},
        "set_up",
        says=(
            "You haven't added an authenticator app yet.",
            "no authenticator app enrolled yet",
        ),
        never_says=("Recovery codes stored", "was removed"),
    ),
    State(
        "mandatory role, app removed after codes were confirmed",
        ("partner_admin",),
        evidence(enrolled=False, factor=None, recovery_codes=False),
        {
            "ever_enrolled": True,
            "enrolled_observed": False,
            "acknowledged_at": _ago(days=3),
        },
        "set_up",
        says=("Your authenticator app was removed at the identity provider.",),
        never_says=("Recovery codes stored", "enrolled yet", "haven't added"),
    ),
    State(
        "enrolled before the first portal sign-in",
        ("aidial_operator",),
        evidence(),
        {
            "ever_enrolled": True,
            "enrolled_observed": True,
            "ack_pending": PendingReason.ENROLMENT.value,
            "ack_pending_since": _ago(minutes=1),
        },
        "confirm_stored",
        says=("Your account has an authenticator app",),
        never_says=("You have enrolled", "Security step needed"),
    ),
    State(
        "compliant, codes confirmed",
        ("aidial_operator",),
        evidence(),
        {"ever_enrolled": True, "enrolled_observed": True, "acknowledged_at": _ago(days=1)},
        None,
        says=("Recovery codes stored", "Compliant"),
    ),
    State(
        "recovery-code sign-in with a new code set pending",
        ("aidial_operator",),
        evidence(factor=Factor.RECOVERY_CODE),
        {
            "ever_enrolled": True,
            "enrolled_observed": True,
            "reminder_since": _ago(minutes=5),
            "ack_pending": PendingReason.REGENERATION.value,
            "ack_pending_since": _ago(days=1),
        },
        "after_recovery_code",
        never_says=("Confirm you stored your recovery codes",),
    ),
    State(
        "app set up again after a recovery-code sign-in",
        ("aidial_operator",),
        evidence(),
        {
            "ever_enrolled": True,
            "enrolled_observed": True,
            "reminder_since": _ago(days=1),
            "ack_pending": PendingReason.RE_ENABLEMENT.value,
            "ack_pending_since": _ago(minutes=5),
        },
        "confirm_stored",
        says=("have since set up your authenticator app again", "also answers the reminder"),
        never_says=("You signed in with a recovery code</h2>",),
    ),
    State(
        "recovery-code sign-in",
        ("aidial_operator",),
        evidence(factor=Factor.RECOVERY_CODE),
        {"ever_enrolled": True, "enrolled_observed": True, "reminder_since": _ago(minutes=5)},
        "after_recovery_code",
        says=("You signed in with a recovery code", "What did you do at the identity provider?"),
    ),
    State(
        "optional role whose app went after a recovery code",
        ("client_staff",),
        evidence(enrolled=False, factor=None, recovery_codes=False),
        {"ever_enrolled": True, "enrolled_observed": False, "reminder_since": _ago(minutes=5)},
        "replace_app",
        says=("your authenticator app is not set up any more",),
        never_says=("Recovery codes stored",),
    ),
    State(
        "optional role without an app",
        ("client_staff",),
        evidence(enrolled=False, factor=None, recovery_codes=False),
        {"enrolled_observed": False},
        "recommend_set_up",
        says=("We recommend adding an authenticator app",),
    ),
    State(
        "mandatory role, multi-factor check too old",
        ("partner_admin",),
        evidence(at=timezone.now() - timedelta(days=2)),
        {"ever_enrolled": True, "enrolled_observed": True, "acknowledged_at": _ago(days=3)},
        "check_again",
        says=("Your last multi-factor check is too old",),
    ),
]


def _primary_buttons(html: str) -> int:
    return len(re.findall(r'class="button primary"', html))


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_every_state_shows_true_lines_and_at_most_one_prompt(client, sign_in_as, state):
    sign_in_as(list(state.roles), state.seen, **state.markers)
    for path in ("/settings/", "/"):
        response = client.get(path)
        if response.status_code == 302:  # the gate sends a blocked session to Settings
            continue
        html = response.content.decode()
        prompts = re.findall(r'data-prompt="([a-z_]+)"', html)
        assert prompts == ([state.prompt] if state.prompt else []), path
        if state.prompt:
            prompt_html = html[
                html.index("data-prompt=") : html.index("</section>", html.index("data-prompt="))
            ]
            assert _primary_buttons(prompt_html) == 1, path
        assert _primary_buttons(html) <= 1, path
        for text in state.says:
            assert text in html, (path, text)
        for text in state.never_says:
            assert text not in html, (path, text)


def test_a_refused_page_is_named_and_reached_once_the_step_is_done(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(factor=None))
    refused = client.get("/admin/compliance/")
    assert refused.status_code == 302
    html = client.get(refused["Location"]).content.decode()
    assert "MFA compliance needs MFA for your role" in html
    assert "we'll take you there" in html

    sign_in_as(["partner_admin"], evidence(), sub="user-2", acknowledged_at=_ago(days=1))
    done = client.get(refused["Location"])
    assert done.status_code == 302
    assert done["Location"] == "/admin/compliance/"
    assert "meets your role&#x27;s MFA policy" in client.get("/").content.decode()


def test_an_answer_without_a_choice_changes_nothing_and_says_so(client, sign_in_as):
    account = sign_in_as(
        ["aidial_operator"],
        evidence(factor=Factor.RECOVERY_CODE),
        ever_enrolled=True,
        enrolled_observed=True,
        reminder_since=_ago(minutes=5),
    )
    response = client.post("/settings/recovery-codes/answer/", {"answer": "something-else"})
    assert response["Location"] == "/settings/"
    account.refresh_from_db()
    assert account.reminder_since is not None
    assert (
        "Choose what you did at the identity provider" in client.get("/settings/").content.decode()
    )
