"""axe-core on every page of the journeys, portal and provider: no serious or critical
violation. axe is injected into the page, so this context bypasses the pages' CSP (the
journeys themselves run with it enforced)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import WIDE, run_axe
from tests.browser.steps import (
    Person,
    back_to_portal,
    on_portal,
    on_provider,
    provider_login,
    totp_code,
)
from tests.support.servers import Stack

pytestmark = pytest.mark.browser


@pytest.fixture
def axe_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=WIDE, locale="en-AU", bypass_csp=True)
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


class Audit:
    def __init__(self, page: Page, script: Path) -> None:
        self.page = page
        self.script = script
        self.findings: dict[str, list[dict[str, Any]]] = {}
        self.checked: list[str] = []

    def __call__(self, name: str) -> None:
        self.checked.append(name)
        violations = run_axe(self.page, self.script)
        if violations:
            self.findings[name] = [
                {
                    "id": f"{v['id']} ({v['theme']})",
                    "impact": v["impact"],
                    "help": v["help"],
                    "targets": [node["target"] for node in v["nodes"]][:5],
                }
                for v in violations
            ]

    def report(self) -> str:
        lines = []
        for name, violations in self.findings.items():
            for v in violations:
                lines.append(f"{name}: {v['impact']} {v['id']} ({v['help']}) at {v['targets']}")
        return "\n".join(lines)


def test_journey_pages_have_no_serious_or_critical_axe_violations(
    axe_context: BrowserContext,
    axe_script: Path,
    stack: Stack,
    person: Callable[..., Person],
) -> None:
    who = person("partner_admin")
    page = axe_context.new_page()
    audit = Audit(page, axe_script)

    page.goto(stack.portal.url("/login/"))
    audit("portal sign-in")
    page.goto(stack.portal.url("/help/"))
    audit("portal help (signed out)")

    page.goto(stack.portal.url("/login/"))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(on_provider(stack, "/ui/login/login"))
    audit("provider login")
    page.get_by_label("Login name", exact=True).fill(who.login)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_be_visible()
    audit("provider login with error")
    provider_login(page, stack, who)
    expect(page.get_by_role("heading", name="Set up multi-factor authentication")).to_be_visible()
    audit("provider MFA-init prompt")
    page.get_by_role("button", name="Skip for now").click()

    expect(page).to_have_url(on_portal(stack, "/settings/"))
    audit("portal settings (not compliant)")
    page.goto(stack.portal.url("/help/"))
    audit("portal help (signed in)")
    page.goto(stack.portal.url("/settings/"))

    page.get_by_role("button", name="Open MFA setup").click()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    audit("provider security page (no authenticator)")
    page.get_by_role("link", name="Add authenticator app").click()
    expect(page.get_by_role("heading", name="Add authenticator app")).to_be_visible()
    audit("provider TOTP set-up")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("Code", exact=True).fill(totp_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    audit("provider recovery codes")
    page.get_by_role("link", name="I have stored my codes — back to security settings").click()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    audit("provider security page (authenticator set up)")
    back_to_portal(page, stack)

    page.get_by_role("button", name="Refresh security status").click()
    provider_login(page, stack, who, prefilled=True)
    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
    audit("provider code")
    page.get_by_label("Code", exact=True).fill(totp_code(secret, offset_steps=1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(on_portal(stack, "/settings/"))
    expect(page.locator("dl.chips")).to_contain_text("Compliant")
    audit("portal settings (compliant, acknowledgement asked)")
    page.get_by_role("button", name="I have stored my current recovery codes").click()
    expect(
        page.get_by_role("button", name="I have stored my current recovery codes")
    ).to_have_count(0)
    audit("portal settings (compliant)")
    page.goto(stack.portal.url("/"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    audit("portal dashboard")
    page.get_by_role("link", name="MFA compliance").click()
    expect(page.get_by_role("heading", name="MFA compliance")).to_be_visible()
    audit("MFA compliance report")
    page.get_by_role("link", name="Security events").click()
    expect(page.get_by_role("heading", name="Security events")).to_be_visible()
    audit("security events")
    page.goto(stack.portal.url("/support/"))
    audit("support form")
    page.get_by_label("Subject", exact=True).fill("Locked out")
    page.get_by_label("Message", exact=True).fill("My recovery code is K7Q2M-9XW4T, please help")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_label("Message", exact=True)).to_have_value(
        "My recovery code is K7Q2M-9XW4T, please help"
    )
    audit("support form with a refused message")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Your account")).to_have_count(0)
    audit("signed-out page")

    assert not audit.findings, "serious or critical axe violations:\n" + audit.report()
    assert len(audit.checked) == 20


def test_the_axe_harness_reports_a_critical_violation(
    axe_context: BrowserContext, axe_script: Path
) -> None:
    """Guards the check above against passing because axe did not run."""
    page = axe_context.new_page()
    page.set_content(
        '<!doctype html><html lang="en"><title>t</title><main><img src="x.png">'
        "<button></button></main></html>"
    )
    found = {v["id"] for v in run_axe(page, axe_script)}
    assert {"image-alt", "button-name"} <= found
