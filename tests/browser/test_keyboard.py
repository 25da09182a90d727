"""Journey 7: the journeys can be completed with the keyboard alone (Tab, Enter, typing)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Shots
from tests.browser.steps import (
    ACK_BUTTON,
    Person,
    on_portal,
    on_provider,
    status_value,
    tab_to,
    totp_code,
)
from tests.support.servers import Stack

pytestmark = pytest.mark.browser


def test_sign_in_and_acknowledgement_with_the_keyboard_alone(
    page: Page, stack: Stack, person: Callable[..., Person], shots: Shots
) -> None:
    who = person("partner_admin", totp=True)
    keys = page.keyboard

    page.goto(stack.portal.url("/login/"))
    tab_to(page, "Skip to main content")  # the first stop on every portal page
    tab_to(page, "Sign in")
    shots("sign-in button focused")
    keys.press("Enter")

    expect(page).to_have_url(on_provider(stack, "/ui/login/login"))
    tab_to(page, "Login name")
    keys.type(who.login)
    tab_to(page, "Password")
    keys.type(who.password)
    shots("provider login filled")
    keys.press("Enter")

    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
    tab_to(page, "Code")
    keys.type(totp_code(who.totp_secret))
    keys.press("Enter")

    expect(page).to_have_url(on_portal(stack, "/"))
    # The dashboard shows the pending confirmation with its own button.
    expect(
        page.get_by_role("heading", name="Confirm you stored your recovery codes")
    ).to_be_visible()
    shots("dashboard asks for acknowledgement")
    tab_to(page, ACK_BUTTON)
    shots("acknowledgement focused")
    keys.press("Enter")
    expect(page).to_have_url(on_portal(stack, "/"))
    expect(page.get_by_role("button", name=ACK_BUTTON)).to_have_count(0)
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()

    tab_to(page, "Settings")
    keys.press("Enter")
    expect(page).to_have_url(on_portal(stack, "/settings/"))
    assert status_value(page, "Recovery codes stored").startswith("Confirmed")

    tab_to(page, "Sign out")
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Your account")).to_have_count(0)
    shots("signed out")


def test_enrolment_and_refresh_with_the_keyboard_alone(
    page: Page, stack: Stack, person: Callable[..., Person], shots: Shots
) -> None:
    who = person("aidial_admin")
    keys = page.keyboard

    page.goto(stack.portal.url("/login/"))
    tab_to(page, "Sign in")
    keys.press("Enter")
    expect(page).to_have_url(on_provider(stack, "/ui/login/login"))
    tab_to(page, "Login name")
    keys.type(who.login)
    tab_to(page, "Password")
    keys.type(who.password)
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Set up multi-factor authentication")).to_be_visible()
    tab_to(page, "Skip for now")
    keys.press("Enter")

    expect(page).to_have_url(on_portal(stack, "/settings/?next=%2F"))
    tab_to(page, "Open MFA setup")
    keys.press("Enter")
    expect(page).to_have_url(on_provider(stack, "/ui/console/users/me"))
    tab_to(page, "Add authenticator app")
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Add authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    tab_to(page, "Code")
    keys.type(totp_code(secret))
    shots("totp setup filled")
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    tab_to(page, "Back to AiDial Portal")
    keys.press("Enter")

    expect(page).to_have_url(on_portal(stack, "/settings/"))
    tab_to(page, "Refresh security status")
    keys.press("Enter")
    expect(page).to_have_url(on_provider(stack, "/ui/login/login"))
    expect(page.get_by_label("Login name", exact=True)).to_have_value(who.login)
    tab_to(page, "Password")
    keys.type(who.password)
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
    tab_to(page, "Code")
    keys.type(totp_code(secret, offset_steps=1))
    keys.press("Enter")

    expect(page).to_have_url(on_portal(stack, "/settings/"))
    expect(page.locator("dl.chips")).to_contain_text("Compliant")
    tab_to(page, ACK_BUTTON)
    keys.press("Enter")
    expect(page.get_by_role("button", name=ACK_BUTTON)).to_have_count(0)
    shots("compliant and acknowledged")
