"""On a phone (375 px wide) a page fits the screen: nothing makes the whole page scroll sideways."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import NARROW
from tests.browser.steps import sign_in
from tests.support.idp import Person
from tests.support.servers import Stack


def test_settings_fits_a_phone_with_the_roles_table(
    page: Page, stack: Stack, person: Callable[..., Person]
) -> None:
    who = person("client_staff")
    sign_in(page, stack, who)
    page.set_viewport_size(NARROW)

    page.goto(stack.portal.url("/settings/"))

    expect(page.get_by_role("heading", name="Your roles")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    # The table itself may scroll, inside its card, and can be reached from the keyboard.
    expect(page.get_by_role("region", name="Your roles table")).to_have_attribute("tabindex", "0")
