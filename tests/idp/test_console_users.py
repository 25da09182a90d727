"""The local provider's administrator view (/ui/console/users/): the command line's
deactivate-user, remove-totp and remove-grant as buttons, with the same signed events."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.idp.test_action_events import Target
from tests.support.idp import HostedLogin, IdpError, LocalIdp, Page, start_local_idp

PASSWORD = "Correct-horse-7!"
ADMIN = "console.admin@example.test"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIdp]:
    provider = start_local_idp(tmp_path_factory.mktemp("console-users-idp"))
    provider.add_user(ADMIN, PASSWORD, ["aidial_admin"])
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def receiver(idp: LocalIdp) -> Iterator[Target]:
    target = Target()
    idp.cli("add-target", "--url", target.url)
    yield target
    target.close()


@pytest.fixture
def console(idp: LocalIdp) -> Iterator[tuple[HostedLogin, httpx.Response]]:
    """A browser signed in to the provider's console, on the users page."""
    with HostedLogin(idp) as browser:
        first = browser.client.get(idp.url("/ui/console/users/"), follow_redirects=True)
        page = browser._submit(first, "login-form", {"loginName": ADMIN, "password": PASSWORD})
        assert isinstance(page, httpx.Response)
        assert str(page.url).endswith("/ui/console/users/")
        yield browser, page


def _press(browser: HostedLogin, page: httpx.Response, form_id: str) -> Page:
    result = browser._submit(page, form_id, {})
    assert isinstance(result, httpx.Response)
    assert str(result.url).endswith("/ui/console/users/")
    return Page(result.text)


def _can_sign_in(idp: LocalIdp, login: str) -> bool:
    with HostedLogin(idp) as browser:
        first = browser.client.get(idp.url("/ui/console/users/me"), follow_redirects=True)
        result = browser._submit(first, "login-form", {"loginName": login, "password": PASSWORD})
        assert isinstance(result, httpx.Response)
        return "login-form" not in Page(result.text).forms


def test_the_page_asks_a_signed_out_browser_to_sign_in_and_is_linked_from_security(
    idp: LocalIdp, console: tuple[HostedLogin, httpx.Response]
) -> None:
    anonymous = httpx.get(idp.url("/ui/console/users/"), follow_redirects=True)
    assert "login-form" in Page(anonymous.text).forms
    assert "admin-notice" not in anonymous.text

    browser, page = console
    assert "administrator view" in Page(page.text).texts["admin-notice"]
    assert "Local development identity provider" in page.text
    security = browser.client.get(idp.url("/ui/console/users/me?id=security"))
    assert Page(security.text).links["console-users"] == "/ui/console/users/"


def test_deactivate_stops_sign_in_and_is_announced(
    idp: LocalIdp, receiver: Target, console: tuple[HostedLogin, httpx.Response]
) -> None:
    made = idp.add_user("to.deactivate@example.test", PASSWORD, ["client_staff"])
    assert _can_sign_in(idp, "to.deactivate@example.test")
    browser, _ = console
    page = browser.client.get(idp.url("/ui/console/users/"))

    after = _press(browser, page, f"deactivate-{made['user_id']}")

    assert after.texts["notice"] == (
        "to.deactivate@example.test was deactivated. 1 event was delivered to the targets."
    )
    assert not _can_sign_in(idp, "to.deactivate@example.test")
    assert made["user_id"] in [e["aggregateID"] for e in receiver.events("user.deactivated")]


def test_remove_authenticator_app_removes_it_and_is_announced(
    idp: LocalIdp, receiver: Target, console: tuple[HostedLogin, httpx.Response]
) -> None:
    made = idp.add_user("to.lose.totp@example.test", PASSWORD, ["partner_admin"], totp=True)
    browser, _ = console
    page = browser.client.get(idp.url("/ui/console/users/"))

    after = _press(browser, page, f"remove-totp-{made['user_id']}")

    assert "1 event was delivered" in after.texts["notice"]
    assert "Authenticator app: not set up." in after.texts[f"state-{made['user_id']}"]
    with pytest.raises(IdpError, match="no authenticator app"):
        idp.cli("remove-totp", "--login", "to.lose.totp@example.test")
    removed = receiver.events("user.human.mfa.otp.removed")
    assert made["user_id"] in [e["aggregateID"] for e in removed]


def test_remove_role_removes_the_grant_and_is_announced(
    idp: LocalIdp, receiver: Target, console: tuple[HostedLogin, httpx.Response]
) -> None:
    made = idp.add_user("to.lose.role@example.test", PASSWORD, ["partner_admin"])
    browser, _ = console
    page = browser.client.get(idp.url("/ui/console/users/"))
    [form_id] = [
        f
        for f in Page(page.text).forms
        if f.startswith("remove-grant-")
        and Page(page.text).forms[f]["fields"]["login"] == "to.lose.role@example.test"
    ]
    grant_id = form_id.removeprefix("remove-grant-")

    after = _press(browser, page, form_id)

    assert "1 event was delivered" in after.texts["notice"]
    assert form_id not in after.forms
    with pytest.raises(IdpError, match="holds no partner_admin"):
        idp.cli(
            "remove-grant",
            "--login",
            "to.lose.role@example.test",
            "--grant",
            f"{made['org_id']}:partner_admin",
        )
    assert grant_id in [e["aggregateID"] for e in receiver.events("user.grant.removed")]


def test_a_post_without_the_csrf_token_is_refused(
    idp: LocalIdp, console: tuple[HostedLogin, httpx.Response]
) -> None:
    idp.add_user("kept.active@example.test", PASSWORD, ["client_staff"])
    browser, _ = console

    refused = browser.client.post(
        idp.url("/ui/console/users/deactivate"), data={"login": "kept.active@example.test"}
    )

    assert refused.status_code == 403
    assert _can_sign_in(idp, "kept.active@example.test")
