"""Browser journeys: Debian's Chromium (through Playwright) against the portal and the local
provider, both running as real servers on loopback.

Playwright, the browser and the servers are package-scoped: they are started once for the
journeys here and stopped before the rest of the suite runs (Playwright's event loop would
otherwise make Django refuse ORM calls in later tests). Every journey uses its own people.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.browser.steps import Person, make_person
from tests.support.servers import REPO_ROOT, Stack, start_stack

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDE = {"width": 1280, "height": 900}
THEMES = ("light", "dark")  # prefers-color-scheme: every page is checked and pictured in both
NARROW = {"width": 375, "height": 812}
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
AXE_SCRIPT = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
NPM_TIMEOUT = 300
# The step-up window of the second portal: long enough to click the button after a refresh,
# short enough for a journey to see it close.
SHORT_STEP_UP = 5


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    """Outside CI a missing tool skips with a visible reason; in CI it is a failure."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: browser tests never skip)")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        _unavailable(
            "Debian's chromium is not installed (`apt-get install chromium`); "
            "the browser journeys need it and never download a browser"
        )
    assert path is not None
    return path


@pytest.fixture(scope="package")
def playwright(chromium_path: str) -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Stack]:
    """The provider and the portal with the default settings."""
    running = start_stack(tmp_path_factory.mktemp("browser-stack"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="package")
def short_step_up_stack(
    tmp_path_factory: pytest.TempPathFactory, chromium_path: str
) -> Iterator[Stack]:
    """A second provider and portal whose step-up window closes after a few seconds."""
    running = start_stack(
        tmp_path_factory.mktemp("browser-stack-short"),
        AIDIAL_STEP_UP_MAX_AGE=str(SHORT_STEP_UP),
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="package")
def axe_script() -> Path:
    """axe-core from npm, pinned in package.json; installed into ./node_modules if missing."""
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("npm is not installed; the accessibility checks need axe-core from npm")
        assert npm is not None
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        if done.returncode != 0 or not AXE_SCRIPT.exists():
            pytest.fail(f"`npm install` did not install axe-core:\n{done.stdout}\n{done.stderr}")
    return AXE_SCRIPT


# People ------------------------------------------------------------------------------------
@pytest.fixture
def person(stack: Stack) -> Callable[..., Person]:
    def make(*roles: str, totp: bool = False) -> Person:
        return make_person(stack, *roles, totp=totp)

    return make


# Pages and screenshots ---------------------------------------------------------------------
class Shots:
    """Screenshots of each step at 1280 px and 375 px wide, kept under test-artifacts/."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, step: str) -> None:
        self.count += 1
        name = f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}"
        for theme in THEMES:
            self.page.emulate_media(color_scheme=theme)
            for label, size in (("1280", WIDE), ("375", NARROW)):
                self.page.set_viewport_size(size)
                self.page.screenshot(
                    path=self.folder / f"{name}-{label}-{theme}.png", full_page=True
                )
        self.page.emulate_media(color_scheme="light")
        self.page.set_viewport_size(WIDE)


def _artefact_folder(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    return ARTIFACTS / Path(request.node.path).stem / name


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies), with the pages' own CSP enforced."""
    fresh = browser.new_context(viewport=WIDE, locale="en-AU")
    fresh.set_default_timeout(15_000)
    try:
        yield fresh
    finally:
        fresh.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def shots(page: Page, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, _artefact_folder(request))


def run_axe(page: Page, script: Path) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page, in both themes (each
    violation's `theme` says which)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(script))
    found = []
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        result: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        found += [
            {**v, "theme": theme}
            for v in result["violations"]
            if v.get("impact") in ("serious", "critical")
        ]
    page.emulate_media(color_scheme="light")
    return found
