"""The journeys of the MFA user guide, as a person meets them in a browser."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import SHORT_STEP_UP, WIDE, Shots
from tests.browser.steps import (
    ACK_BUTTON,
    Person,
    answer_reminder,
    back_to_portal,
    csrf_token,
    enrol_totp,
    make_person,
    on_portal,
    on_provider,
    refresh_status,
    sign_in,
    status_value,
    totp_code,
)
from tests.support.servers import Stack

pytestmark = pytest.mark.browser

POLL_DEADLINE = 30.0


def test_partner_admin_without_mfa_enrols_refreshes_and_acknowledges(
    page: Page, stack: Stack, person: Callable[..., Person], shots: Shots
) -> None:
    who = person("partner_admin")

    sign_in(page, stack, who, shots=shots)
    expect(page).to_have_url(on_portal(stack, "/settings/?next=%2F"))
    expect(page.get_by_role("alert")).to_contain_text("Security step needed")
    expect(page.get_by_role("alert")).to_contain_text("has no authenticator app enrolled yet")
    assert status_value(page, "MFA policy") == "Not compliant"
    shots("settings not compliant")

    # A protected page and a protected action are refused.
    page.goto(stack.portal.url("/"))
    expect(page).to_have_url(on_portal(stack, "/settings/?next=%2F"))
    refused = page.request.post(
        stack.portal.url("/actions/confirm-session/"),
        form={"csrfmiddlewaretoken": csrf_token(page)},
        headers={"Origin": stack.portal.base_url, "Referer": page.url},
    )
    assert refused.status == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["reason"] == "not_enrolled"

    page.get_by_role("button", name="Open MFA setup").click()
    expect(page).to_have_url(on_provider(stack, "/ui/console/users/me"))
    enrolment = enrol_totp(page, stack, shots=shots)
    back_to_portal(page, stack)
    expect(page.get_by_role("alert")).to_contain_text("Security step needed")
    shots("back at the portal")

    # The enrolment code cannot be replayed: the refresh uses the next time step's code.
    refresh_status(page, stack, who, code=totp_code(enrolment.secret, offset_steps=1), shots=shots)
    assert status_value(page, "MFA policy") == "Compliant"
    assert status_value(page, "Authenticator app (TOTP)") == "Enrolled"
    assert status_value(page, "This sign-in").startswith("Authenticator app (TOTP), verified")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(
        page.get_by_role("heading", name="Confirm you stored your recovery codes")
    ).to_be_visible()
    expect(page.get_by_text("Your account has an authenticator app")).to_be_visible()
    shots("settings compliant with acknowledgement prompt")

    page.get_by_role("button", name=ACK_BUTTON).click()
    # Back where the gate first stopped the person, with a one-line confirmation.
    expect(page).to_have_url(on_portal(stack, "/"))
    expect(page.get_by_role("status")).to_contain_text("stored your current recovery codes")
    expect(page.get_by_role("button", name=ACK_BUTTON)).to_have_count(0)
    assert status_value(page, "Recovery codes stored").startswith("Confirmed")
    shots("acknowledged")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(on_portal(stack, "/"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text(who.login)).to_be_visible()
    shots("dashboard")
    allowed = page.request.post(
        stack.portal.url("/actions/confirm-session/"),
        form={"csrfmiddlewaretoken": csrf_token(page)},
        headers={"Origin": stack.portal.base_url, "Referer": page.url},
    )
    assert allowed.status == 200, allowed.text()


def test_operator_signing_in_with_a_recovery_code_is_reminded_and_declares_regeneration(
    page: Page, stack: Stack, person: Callable[..., Person], shots: Shots
) -> None:
    who = person("aidial_operator", totp=True)

    sign_in(page, stack, who, code=who.recovery_codes[0], shots=shots)
    expect(page).to_have_url(on_portal(stack, "/"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    shots("dashboard after recovery-code sign-in")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    assert status_value(page, "MFA policy") == "Compliant"
    assert status_value(page, "This sign-in").startswith("Recovery code, verified")
    reminder = page.get_by_role("heading", name="You signed in with a recovery code")
    expect(reminder).to_be_visible()
    # One prompt at a time: the reminder, not also the confirmation of the same code set.
    expect(page.get_by_role("button", name=ACK_BUTTON)).to_have_count(0)
    shots("settings with the reminder")

    answer_reminder(page, "I regenerated my recovery codes")
    expect(page).to_have_url(on_portal(stack, "/settings/"))
    expect(reminder).to_have_count(0)
    # The button says the new set is stored: nothing more is asked.
    expect(page.get_by_role("button", name=ACK_BUTTON)).to_have_count(0)
    assert status_value(page, "Recovery codes stored").startswith("Confirmed")
    shots("reminder answered in one step")


def test_client_staff_has_full_access_and_manages_mfa_only_within_the_step_up_window(
    page: Page, short_step_up_stack: Stack, shots: Shots
) -> None:
    stack = short_step_up_stack
    who = make_person(stack, "client_staff")

    sign_in(page, stack, who, shots=shots)
    expect(page).to_have_url(on_portal(stack, "/"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_text("We recommend adding an authenticator app")).to_be_visible()
    assert status_value(page, "MFA policy") == "Met (MFA is optional for your role)"
    expect(page.get_by_role("button", name="Manage MFA at the provider")).to_have_count(0)
    shots("settings with enrolment nudge")

    page.get_by_role("button", name="Open MFA setup").click()
    enrolment = enrol_totp(page, stack, shots=shots)
    back_to_portal(page, stack)
    refresh_status(page, stack, who, code=totp_code(enrolment.secret, offset_steps=1), shots=shots)
    expect(page.get_by_text("We recommend adding an authenticator app")).to_have_count(0)
    shots("settings enrolled with management")
    page.get_by_role("button", name="Manage MFA at the provider").click()
    expect(page).to_have_url(on_provider(stack, "/ui/console/users/me"))
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Remove authenticator app")).to_be_visible()
    shots("provider management page")

    # Once the step-up window has passed, Settings asks for a refresh first. The window is
    # SHORT_STEP_UP seconds; poll the page (bounded) rather than sleep.
    page.goto(stack.portal.url("/settings/"))
    needs_refresh = page.get_by_text("To manage MFA at the provider, refresh your security")
    deadline = time.monotonic() + SHORT_STEP_UP + POLL_DEADLINE
    while not needs_refresh.is_visible():
        assert time.monotonic() < deadline, "the step-up window never closed"
        page.reload()
        try:
            expect(needs_refresh).to_be_visible(timeout=1_000)
        except AssertionError:
            continue
    expect(page.get_by_role("button", name="Manage MFA at the provider")).to_have_count(0)
    shots("settings asks to refresh first")
    late = page.request.post(
        stack.portal.url("/settings/manage-mfa/"),
        form={"csrfmiddlewaretoken": csrf_token(page)},
        headers={"Origin": stack.portal.base_url, "Referer": page.url},
    )
    assert late.status == 403
    assert "refresh your security status first" in late.text()


def test_client_staff_who_removes_and_re_enrols_is_asked_to_acknowledge_again(
    page: Page, stack: Stack, person: Callable[..., Person], shots: Shots
) -> None:
    who = person("client_staff")
    sign_in(page, stack, who)
    page.goto(stack.portal.url("/settings/"))
    page.get_by_role("button", name="Open MFA setup").click()
    first = enrol_totp(page, stack)
    back_to_portal(page, stack)
    refresh_status(page, stack, who, code=totp_code(first.secret, offset_steps=1))
    page.get_by_role("button", name=ACK_BUTTON).click()
    expect(page.get_by_role("button", name=ACK_BUTTON)).to_have_count(0)
    shots("enrolled and acknowledged")

    page.get_by_role("button", name="Manage MFA at the provider").click()
    expect(page).to_have_url(on_provider(stack, "/ui/console/users/me"))
    code_field = page.get_by_label("Code", exact=True)
    if code_field.count():  # only when the provider's last second-factor check is not recent
        code_field.fill(first.recovery_codes[0])
    page.get_by_role("button", name="Remove authenticator app").click()
    expect(page.get_by_role("status")).to_contain_text("The authenticator app was removed")
    shots("provider authenticator removed")
    back_to_portal(page, stack)
    refresh_status(page, stack, who, code=None)
    assert status_value(page, "Authenticator app (TOTP)") == "Not enrolled"
    expect(page.get_by_text("We recommend adding an authenticator app")).to_be_visible()
    expect(page.get_by_role("button", name=ACK_BUTTON)).to_have_count(0)
    shots("settings shows mfa off")

    page.get_by_role("button", name="Open MFA setup").click()
    second = enrol_totp(page, stack)
    assert second.secret != first.secret
    back_to_portal(page, stack)
    refresh_status(page, stack, who, code=totp_code(second.secret, offset_steps=1))
    assert status_value(page, "Authenticator app (TOTP)") == "Enrolled"
    expect(page.get_by_role("button", name=ACK_BUTTON)).to_be_visible()
    expect(page.get_by_text("Your account has an authenticator app again")).to_be_visible()
    shots("acknowledgement asked again after re-enablement")


def test_mandatory_role_never_sees_management_and_a_forged_launch_is_refused(
    page: Page, stack: Stack, person: Callable[..., Person], shots: Shots
) -> None:
    who = person("partner_admin", totp=True)
    sign_in(page, stack, who, code=totp_code(who.totp_secret))
    page.goto(stack.portal.url("/settings/"))
    assert status_value(page, "MFA policy") == "Compliant"
    expect(page.get_by_role("button", name="Manage MFA at the provider")).to_have_count(0)
    expect(page.get_by_text("To manage MFA at the provider")).to_have_count(0)
    shots("settings without management")

    forged = page.request.post(
        stack.portal.url("/settings/manage-mfa/"),
        form={"csrfmiddlewaretoken": csrf_token(page)},
        headers={"Origin": stack.portal.base_url, "Referer": page.url},
    )
    assert forged.status == 403
    assert "MFA cannot be disabled while you hold it" in forged.text()
    assert "Location" not in forged.headers


def test_after_sign_out_neither_back_button_nor_old_cookie_shows_protected_content(
    browser: Browser,
    context: BrowserContext,
    page: Page,
    stack: Stack,
    person: Callable[..., Person],
    shots: Shots,
) -> None:
    who = person("client_manager")
    sign_in(page, stack, who)
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    old_session = [c for c in context.cookies() if c["name"] == "aidial_session"]
    assert len(old_session) == 1
    shots("dashboard before sign-out")

    page.get_by_role("button", name="Sign out").click()
    # Through the provider's end-session endpoint (it ends the provider session too) and back.
    expect(page).to_have_url(on_portal(stack, "/signed-out/"))
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    shots("signed out")

    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(stack.portal.url("/login/"))))
    expect(page.get_by_role("heading", name="Your account")).to_have_count(0)
    expect(page.get_by_text(who.login)).to_have_count(0)
    shots("back button after sign-out")

    replay = browser.new_context(viewport=WIDE)
    try:
        replay.add_cookies(old_session)
        stale = replay.new_page()
        stale.goto(stack.portal.url("/"))
        expect(stale).to_have_url(re.compile(re.escape(stack.portal.url("/login/"))))
        expect(stale.get_by_role("heading", name="Sign in to AiDial Portal")).to_be_visible()
    finally:
        replay.close()
