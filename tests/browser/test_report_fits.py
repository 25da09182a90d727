"""The compliance report fits: its Status column and its summary are in view without scrolling
sideways on a 1280 px screen and on a 375 px phone (stacked there)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NARROW, WIDE
from tests.browser.steps import sign_in
from tests.support.idp import Person, totp_code
from tests.support.servers import Stack


@pytest.fixture
def admin_on_report(page: Page, stack: Stack, person: Callable[..., Person]) -> Page:
    person("client_staff")  # someone else to list
    who = person("aidial_admin", totp=True)
    sign_in(page, stack, who, code=totp_code(who.totp_secret, offset_steps=0))
    stored = page.get_by_role("button", name="I have stored my current recovery codes")
    page.goto(stack.portal.url("/settings/"))
    if stored.count():
        stored.click()
    page.goto(stack.portal.url("/admin/compliance/"))
    expect(page.get_by_role("heading", name="MFA compliance")).to_be_visible()
    return page


def _right_edge(page: Page, selector: str) -> float:
    return float(page.locator(selector).first.evaluate("e => e.getBoundingClientRect().right"))


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["1280px", "375px"])
def test_status_and_summary_are_in_view_without_scrolling_sideways(
    admin_on_report: Page, size: dict[str, int]
) -> None:
    page = admin_on_report
    page.set_viewport_size(size)

    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    region = page.get_by_role("region", name="People table")
    assert region.evaluate("e => e.scrollWidth <= e.clientWidth")
    status = page.locator('td[data-label="Status"]').first
    expect(status).to_be_visible()
    assert _right_edge(page, 'td[data-label="Status"]') <= size["width"]
    expect(page.get_by_role("heading", name="At a glance")).to_be_visible()
    expect(page.locator(".report-summary .headline")).to_contain_text(
        "people whose roles require MFA are compliant"
    )
