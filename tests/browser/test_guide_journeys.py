"""The user guide's journeys end to end, as a person following only the guide lives them:
lost authenticator, review or regenerate codes, leaving for the provider, and support
requests that reach people. Every page passed is screenshotted at 1280 and 375 px and
checked with axe (pages' CSP enforced: axe is evaluated through the DevTools protocol)."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import THEMES, Shots
from tests.browser.steps import (
    ACK_BUTTON,
    Person,
    answer_reminder,
    back_to_portal,
    enrol_totp,
    make_person,
    on_portal,
    on_provider,
    refresh_status,
    sign_in,
    status_value,
    totp_code,
)
from tests.support.servers import REPO_ROOT, Stack, portal_command, start_stack
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.browser

REVIEW_LINK = "Review or regenerate recovery codes"
REVIEWED = "I reviewed my recovery codes"
REGENERATED = "I regenerated my recovery codes"
BLOCKING_WARNING = "If you remove your only authenticator app"
TEAM = "support-team@aidial.test"
RESEND_TIMEOUT = 60


class Look:
    """One look at the current page: screenshots at both widths, and axe."""

    def __init__(self, page: Page, shots: Shots, axe_script: Path) -> None:
        self.page = page
        self.shots = shots
        self.axe_source = axe_script.read_text(encoding="utf-8")
        self.findings: list[str] = []
        self.pages = 0

    def __call__(self, step: str) -> None:
        self.pages += 1
        self.shots(step)
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(self.axe_source)
        for theme in THEMES:
            self.page.emulate_media(color_scheme=theme)
            result: dict[str, Any] = self.page.evaluate(
                "axe.run(document, {resultTypes: ['violations']})"
            )
            for violation in result["violations"]:
                if violation.get("impact") in ("serious", "critical"):
                    targets = [node["target"] for node in violation["nodes"]][:5]
                    self.findings.append(f"{step} ({theme}): {violation['id']} at {targets}")
        self.page.emulate_media(color_scheme="light")

    def assert_clean(self) -> None:
        assert self.pages > 0
        assert not self.findings, "serious or critical axe violations:\n" + "\n".join(self.findings)


@pytest.fixture
def look(page: Page, shots: Shots, axe_script: Path) -> Iterator[Look]:
    checker = Look(page, shots, axe_script)
    yield checker
    checker.assert_clean()


def events_of(stack: Stack, login: str) -> list[str]:
    """The security events of one person, read from the portal's own database."""
    database = stack.portal.data_dir / "portal.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT e.event_type FROM audit_securityevent e "
            "JOIN accounts_account a ON a.id = e.account_id "
            "WHERE a.login_name = ? ORDER BY e.id",
            (login,),
        ).fetchall()
    return [row[0] for row in rows]


def nothing_pending(page: Page) -> None:
    expect(
        page.get_by_role("heading", name="Confirm you stored your recovery codes")
    ).to_have_count(0)
    expect(page.get_by_role("heading", name="You signed in with a recovery code")).to_have_count(0)


# 1. Lost authenticator -----------------------------------------------------------------------
def test_lost_authenticator_ends_with_one_confirmation(
    page: Page, stack: Stack, person: Callable[..., Person], look: Look
) -> None:
    """Guide: use a recovery code; set up a new authenticator with the trusted provider
    management link; refresh. The person refreshes once in between, as the guide says after
    any change at the provider, so the portal sees the authenticator gone and back."""
    who = person("aidial_operator", totp=True)
    sign_in(page, stack, who, code=who.recovery_codes[0], shots=look)
    expect(page).to_have_url(on_portal(stack, "/"))
    reminder = page.get_by_role("heading", name="You signed in with a recovery code")
    expect(reminder).to_be_visible()
    expect(page.get_by_text(BLOCKING_WARNING)).to_be_visible()  # before leaving
    look("dashboard reminder after a recovery-code sign-in")

    page.get_by_role("button", name=REVIEW_LINK).click()
    expect(page).to_have_url(on_provider(stack, "/ui/console/users/me"))
    look("provider security page")
    code_field = page.get_by_label("Code", exact=True)
    if code_field.count():
        code_field.fill(who.recovery_codes[1])
    page.get_by_role("button", name="Remove authenticator app").click()
    expect(page.get_by_role("status")).to_contain_text("The authenticator app was removed")
    back_to_portal(page, stack)

    refresh_status(page, stack, who, code=None, shots=look)
    expect(page.get_by_role("alert")).to_contain_text(
        "your authenticator app was removed at the identity provider"
    )
    # One prompt: the policy's step first; the reminder waits for the new authenticator.
    expect(reminder).to_have_count(0)
    expect(page.get_by_label(REVIEWED)).to_have_count(0)
    expect(page.get_by_label(REGENERATED)).to_have_count(0)
    look("settings without an authenticator, reminder waits for the new one")

    page.get_by_role("button", name="Open MFA setup").click()
    enrolment = enrol_totp(page, stack, shots=look)
    back_to_portal(page, stack)
    refresh_status(page, stack, who, code=totp_code(enrolment.secret, offset_steps=1), shots=look)
    assert status_value(page, "MFA policy") == "Compliant"
    # One prompt that says what happened and what to confirm.
    expect(
        page.get_by_role("heading", name="Confirm you stored your recovery codes")
    ).to_be_visible()
    expect(page.get_by_text("have since set up your authenticator app again")).to_be_visible()
    expect(reminder).to_have_count(0)
    expect(page.get_by_role("button", name=ACK_BUTTON)).to_have_count(1)
    look("settings asks one confirmation")

    page.get_by_role("button", name=ACK_BUTTON).click()
    nothing_pending(page)
    page.goto(stack.portal.url("/"))
    nothing_pending(page)
    look("dashboard with nothing pending")
    events = events_of(stack, who.login)
    assert events.count("recovery_codes_acknowledged") == 1
    assert "review_launched" in events
    assert "setup_launched" in events


def test_lost_authenticator_replaced_in_one_visit_is_one_click(
    page: Page, stack: Stack, person: Callable[..., Person], look: Look
) -> None:
    """Removed and added again in one visit to the provider, then refreshed: the reminder
    asks what happened, and "I regenerated my recovery codes" is the one click."""
    who = person("partner_admin", totp=True)
    sign_in(page, stack, who, code=who.recovery_codes[0], shots=look)
    page.goto(stack.portal.url("/settings/"))
    page.get_by_role("button", name=REVIEW_LINK).click()
    code_field = page.get_by_label("Code", exact=True)
    if code_field.count():
        code_field.fill(who.recovery_codes[1])
    page.get_by_role("button", name="Remove authenticator app").click()
    enrolment = enrol_totp(page, stack, shots=look)
    back_to_portal(page, stack)
    refresh_status(page, stack, who, code=totp_code(enrolment.secret, offset_steps=1), shots=look)
    expect(page.get_by_role("heading", name="You signed in with a recovery code")).to_be_visible()
    look("settings reminder after replacing the authenticator")
    answer_reminder(page, REGENERATED)
    expect(page).to_have_url(on_portal(stack, "/settings/"))
    expect(page.get_by_role("status")).to_contain_text("regenerated and stored")
    nothing_pending(page)
    assert status_value(page, "Recovery codes stored").startswith("Confirmed")
    look("settings after one click")


# 2. Review or regenerate codes ---------------------------------------------------------------
def test_reviewing_codes_clears_the_reminder_without_claiming_a_regeneration(
    page: Page, stack: Stack, person: Callable[..., Person], look: Look
) -> None:
    who = person("aidial_operator", totp=True)
    sign_in(page, stack, who, code=who.recovery_codes[0], shots=look)
    page.goto(stack.portal.url("/settings/"))
    expect(page.get_by_label(REVIEWED)).to_be_visible()
    expect(page.get_by_label(REGENERATED)).to_be_visible()
    expect(page.get_by_text("tell us below")).to_have_count(0)
    look("settings reminder with both answers")

    page.get_by_role("button", name=REVIEW_LINK).click()
    expect(page.locator("#recovery-codes-left")).to_have_text("9")
    look("provider shows the codes left")
    back_to_portal(page, stack)
    answer_reminder(page, REVIEWED)
    expect(page.get_by_role("heading", name="You signed in with a recovery code")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("reviewed your recovery codes")
    # The first sign-in also saw the enrolment: that confirmation comes next, on its own.
    expect(page.get_by_text("Your account has an authenticator app")).to_be_visible()
    look("settings after reviewing")
    page.get_by_role("button", name=ACK_BUTTON).click()
    page.goto(stack.portal.url("/settings/"))
    nothing_pending(page)
    events = events_of(stack, who.login)
    assert "recovery_codes_reviewed" in events
    assert "regeneration_declared" not in events


def test_regenerating_codes_from_the_dashboard_reminder_is_one_step(
    page: Page, stack: Stack, person: Callable[..., Person], look: Look
) -> None:
    who = person("client_manager", totp=True)
    sign_in(page, stack, who, code=who.recovery_codes[0], shots=look)
    expect(page).to_have_url(on_portal(stack, "/"))
    expect(page.get_by_text(BLOCKING_WARNING)).to_have_count(0)  # optional role: no block
    page.get_by_role("button", name=REVIEW_LINK).click()
    page.get_by_role("button", name="Generate new recovery codes").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    look("provider new recovery codes")
    page.get_by_role("link", name="I have stored my codes — back to security settings").click()
    page.goto(stack.portal.url("/"))
    answer_reminder(page, REGENERATED)
    expect(page).to_have_url(on_portal(stack, "/"))
    nothing_pending(page)
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    look("dashboard after regenerating")
    events = events_of(stack, who.login)
    assert events[-2:] == ["regeneration_declared", "recovery_codes_acknowledged"]


# 4. Leaving for the provider -----------------------------------------------------------------
def test_every_launch_to_the_provider_is_recorded_and_mandatory_roles_are_warned(
    page: Page, stack: Stack, person: Callable[..., Person], look: Look
) -> None:
    who = person("aidial_admin")
    sign_in(page, stack, who, shots=look)
    expect(page).to_have_url(on_portal(stack, "/settings/?next=%2F"))
    page.get_by_role("button", name="Open MFA setup").click()
    expect(page).to_have_url(on_provider(stack, "/ui/console/users/me"))
    assert events_of(stack, who.login)[-1] == "setup_launched"
    enrolment = enrol_totp(page, stack, shots=look)
    back_to_portal(page, stack)
    refresh_status(page, stack, who, code=totp_code(enrolment.secret, offset_steps=1), shots=look)
    page.get_by_role("button", name=ACK_BUTTON).click()
    page.goto(stack.portal.url("/settings/"))

    expect(page.get_by_text("Trusted provider management link:")).to_be_visible()
    warning = page.get_by_text(BLOCKING_WARNING)
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("protected pages are blocked")
    expect(page.get_by_role("button", name="Manage MFA at the provider")).to_have_count(0)
    look("settings warns before leaving")
    page.get_by_role("button", name=REVIEW_LINK).click()
    expect(page).to_have_url(on_provider(stack, "/ui/console/users/me"))
    assert events_of(stack, who.login)[-1] == "review_launched"


# 8. Support requests reach people ------------------------------------------------------------
@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def email_stack(
    tmp_path_factory: pytest.TempPathFactory, chromium_path: str, smtp: SmtpServer
) -> Iterator[Stack]:
    running = start_stack(
        tmp_path_factory.mktemp("browser-stack-email"),
        AIDIAL_SUPPORT_EMAIL_TO=TEAM,
        AIDIAL_EMAIL_HOST="127.0.0.1",
        AIDIAL_EMAIL_PORT=str(smtp.port),
        AIDIAL_EMAIL_FROM="portal@aidial.test",
    )
    try:
        yield running
    finally:
        running.stop()


def send_request(page: Page, stack: Stack, subject: str, message: str) -> None:
    page.goto(stack.portal.url("/settings/"))
    page.get_by_role("link", name="Support", exact=True).click()
    expect(page.get_by_role("heading", name="Support", exact=True)).to_be_visible()
    page.get_by_label("Subject", exact=True).fill(subject)
    page.get_by_label("Message", exact=True).fill(message)
    page.get_by_role("button", name="Send request").click()


def test_support_request_reaches_the_team_and_survives_a_mail_outage(
    page: Page, email_stack: Stack, smtp: SmtpServer, look: Look
) -> None:
    stack = email_stack
    who = make_person(stack, "client_staff")
    sign_in(page, stack, who, shots=look)
    send_request(page, stack, "Export fails", "The export button does nothing since Monday.")
    expect(page.get_by_role("status")).to_contain_text("your request was sent")
    look("support request sent")
    assert len(smtp.received) == 1
    assert smtp.received[0].recipients == [TEAM]
    assert "Export fails" in smtp.received[0].message["Subject"]

    smtp.stop()  # the mail server goes down
    try:
        send_request(page, stack, "Locked out", "My phone was stolen yesterday.")
        expect(page.get_by_role("status")).to_contain_text("Email to the AiDial team is delayed")
        expect(page.get_by_role("status")).to_contain_text("Nothing was lost")
        look("support request saved during a mail outage")
    finally:
        smtp.start()

    admin = make_person(stack, "aidial_operator", totp=True)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(on_portal(stack, "/signed-out/"))
    sign_in(page, stack, admin, code=totp_code(admin.totp_secret), shots=look)
    page.goto(stack.portal.url("/support/requests/"))
    expect(page.get_by_role("status")).to_contain_text("could not be emailed")
    expect(page.get_by_role("row", name="Locked out")).to_contain_text("Email failed")
    look("requests list shows the failed email")

    resent = subprocess.run(
        [*portal_command(), "support", "resend"],
        cwd=REPO_ROOT,
        env=stack.portal.env,
        capture_output=True,
        text=True,
        timeout=RESEND_TIMEOUT,
        check=False,
    )
    assert resent.returncode == 0, resent.stderr
    assert "1 e-mailed, 0 still failing" in resent.stdout
    assert len(smtp.received) == 2
    assert (
        "My phone was stolen yesterday."
        in smtp.received[1].message.get_payload(decode=True).decode()
    )
    page.reload()
    expect(page.get_by_role("row", name="Locked out")).to_contain_text("Emailed")
    expect(page.get_by_text("could not be emailed")).to_have_count(0)
    look("requests list after resend")
