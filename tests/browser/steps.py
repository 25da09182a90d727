"""The steps a person takes in the browser, by the names and labels they see.

Every locator is an accessible one (role and name, or label), so a step that passes here is
one a screen-reader user can take too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.sync_api import Page, expect

from tests.support.idp import Person, totp_code
from tests.support.servers import Stack

SIGN_IN_TIMEOUT = 15_000
# The button that confirms the current recovery codes are stored (dashboard and Settings).
ACK_BUTTON = "I have stored my current recovery codes"
Shot = Callable[[str], None] | None


def make_person(stack: Stack, *roles: str, totp: bool = False) -> Person:
    """A new account at the provider, unique to this run and this journey."""
    return stack.idp.new_person(*roles, totp=totp, domain="browser.test")


def on_portal(stack: Stack, path: str = "") -> re.Pattern[str]:
    return re.compile(re.escape(stack.portal.base_url + path))


def on_provider(stack: Stack, path: str = "") -> re.Pattern[str]:
    return re.compile(re.escape(stack.idp.issuer + path))


@dataclass
class Enrolment:
    secret: str
    recovery_codes: list[str] = field(default_factory=list)


def provider_login(page: Page, stack: Stack, who: Person, *, prefilled: bool = False) -> None:
    """The provider's sign-in page: login name (or check it is pre-filled), password."""
    expect(page).to_have_url(on_provider(stack, "/ui/login/login"))
    login_name = page.get_by_label("Login name", exact=True)
    if prefilled:
        expect(login_name).to_have_value(who.login)
    else:
        login_name.fill(who.login)
    page.get_by_label("Password", exact=True).fill(who.password)
    page.get_by_role("button", name="Next").click()


def sign_in(
    page: Page,
    stack: Stack,
    who: Person,
    *,
    code: str | None = None,
    next_path: str = "",
    shots: Shot = None,
) -> None:
    """From the portal's sign-in page through the provider and back to the portal."""
    page.goto(stack.portal.url("/login/" + (f"?next={next_path}" if next_path else "")))
    expect(page.get_by_role("heading", name="Sign in to AiDial Portal")).to_be_visible()
    _shot(shots, "portal sign-in")
    page.get_by_role("button", name="Sign in").click()
    provider_login(page, stack, who)
    finish_provider_sign_in(page, stack, code=code, shots=shots)


def finish_provider_sign_in(
    page: Page, stack: Stack, *, code: str | None, shots: Shot = None
) -> None:
    """After the password: the code page (with `code`) or the MFA-init prompt (skipped)."""
    if code is not None:
        expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
        page.get_by_label("Code", exact=True).fill(code)
        _shot(shots, "provider code")
        page.get_by_role("button", name="Verify").click()
    else:
        expect(
            page.get_by_role("heading", name="Set up multi-factor authentication")
        ).to_be_visible()
        _shot(shots, "provider mfa prompt")
        page.get_by_role("button", name="Skip for now").click()
    expect(page).to_have_url(on_portal(stack), timeout=SIGN_IN_TIMEOUT)


def enrol_totp(page: Page, stack: Stack, *, shots: Shot = None) -> Enrolment:
    """On the provider's security page: add an authenticator app, confirm it with a code
    computed from the key shown as text, and keep the recovery codes it shows."""
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    _shot(shots, "provider security page")
    page.get_by_role("link", name="Add authenticator app").click()
    expect(page.get_by_role("heading", name="Add authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    page.get_by_label("Code", exact=True).fill(totp_code(secret))
    _shot(shots, "provider totp setup")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = [
        text.strip() for text in page.get_by_role("list").get_by_role("listitem").all_inner_texts()
    ]
    assert len(codes) == 10, codes
    _shot(shots, "provider recovery codes")
    page.get_by_role("link", name=re.compile("I have stored my codes")).click()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    return Enrolment(secret=secret, recovery_codes=codes)


def back_to_portal(page: Page, stack: Stack) -> None:
    page.get_by_role("link", name="Back to AiDial Portal").click()
    expect(page).to_have_url(on_portal(stack, "/settings/"))


def refresh_status(
    page: Page, stack: Stack, who: Person, *, code: str | None, shots: Shot = None
) -> None:
    """Refresh security status: a fresh sign-in (login name pre-filled) back to Settings."""
    page.get_by_role("button", name="Refresh security status").click()
    provider_login(page, stack, who, prefilled=True)
    finish_provider_sign_in(page, stack, code=code, shots=shots)
    expect(page).to_have_url(on_portal(stack, "/settings/"))


def answer_reminder(page: Page, answer: str) -> None:
    """Answer the recovery-code reminder: `answer` is the start of the chosen option's label
    ("I reviewed my recovery codes" or "I regenerated my recovery codes")."""
    page.get_by_label(answer).check()
    page.get_by_role("button", name="Save my answer").click()


def status_value(page: Page, term: str) -> str:
    """The value of the status chip titled `term` (Settings and the dashboard)."""
    return page.locator(f"dl.chips dt:text-is('{term}') + dd").first.inner_text().strip()


def csrf_token(page: Page) -> str:
    return page.locator("input[name=csrfmiddlewaretoken]").first.input_value()


def _shot(shots: Shot, step: str) -> None:
    if shots is not None:
        shots(step)


# Keyboard ------------------------------------------------------------------------------------
MAX_TABS = 40
_FOCUSED_NAME = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const label = el.getAttribute("aria-label")
    || (el.labels && el.labels.length ? el.labels[0].innerText : "")
    || el.innerText || el.value || "";
  return label.replace(/\\s+/g, " ").trim();
}"""


def focused_name(page: Page) -> str:
    return str(page.evaluate(_FOCUSED_NAME))


def tab_to(page: Page, name: str | re.Pattern[str]) -> None:
    """Press Tab until the focused element's accessible name is `name` (bounded)."""
    seen: list[str] = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        current = focused_name(page)
        seen.append(current)
        if name.search(current) if isinstance(name, re.Pattern) else current == name:
            return
    raise AssertionError(f"{name!r} is not reachable with Tab; focus went through {seen}")
