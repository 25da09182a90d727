"""Pytest plugin: a real local identity provider on loopback, and a browser-like driver for it.

Load it with ``pytest_plugins = ["tests.support.idp"]``. It never imports ``local_idp``: the
provider runs as ``python -m local_idp`` in a subprocess, exactly as developers run it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import pyotp
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HTTP_TIMEOUT = 10.0
CLI_TIMEOUT = 60.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.05
MAX_FORM_STEPS = 12
SECURITY_PAGE = "/ui/console/users/me?id=security"


# One password for every test person: it is not what these tests are about.
PASSWORD = "Correct-horse-battery-9"
_people = itertools.count(1)


@dataclass
class Person:
    """A test account at the provider, with what a person would have written down."""

    login: str
    password: str
    roles: list[str]
    user_id: str
    totp_secret: str = ""
    recovery_codes: tuple[str, ...] = ()
    # The user's own organisation, and every (role, organisation) grant as the provider
    # reported it: dicts with org_id, org_name, primary_domain, role.
    org_id: str = ""
    grants: tuple[dict[str, str], ...] = ()


def totp_code(secret: str, *, offset_steps: int = 0) -> str:
    """The code an authenticator app shows now (or ``offset_steps`` periods later)."""
    return str(pyotp.TOTP(secret).at(time.time(), counter_offset=offset_steps))


class IdpError(RuntimeError):
    """The provider could not be started, or one of its commands failed."""


class HostedLoginError(AssertionError):
    """The hosted pages did not go where a browser user would expect; ``html`` is the page."""

    def __init__(self, message: str, html: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.html = html


class LocalIdp:
    """A running ``python -m local_idp serve`` and its command line."""

    def __init__(
        self,
        issuer: str,
        data_dir: Path,
        *,
        return_url: str,
        process: subprocess.Popen[bytes] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.issuer = issuer
        self.data_dir = data_dir
        self.return_url = return_url
        self.process = process
        self.log_path = log_path or data_dir / "server.log"

    def env(self) -> dict[str, str]:
        return _provider_env(self.data_dir, self.issuer, self.return_url)

    def cli(self, *args: str) -> dict[str, Any]:
        completed = subprocess.run(
            [sys.executable, "-m", "local_idp", *args],
            cwd=REPO_ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        if completed.returncode != 0:
            raise IdpError(
                f"`python -m local_idp {args[0] if args else ''}` failed "
                f"(exit {completed.returncode}): {completed.stderr.strip()}"
            )
        result: dict[str, Any] = json.loads(completed.stdout)
        return result

    def add_user(
        self,
        login: str,
        password: str,
        roles: list[str],
        *,
        org: str | None = None,
        totp: bool = False,
        grants: Sequence[tuple[str, str]] = (),
        otp_sms: str | None = None,
        otp_email: bool = False,
        passkey: bool = False,
        security_key: bool = False,
    ) -> dict[str, Any]:
        """``roles`` are held in ``org`` (the user's own organisation); ``grants`` are
        ``(organisation name or id, role)`` pairs in organisations that exist already
        (see ``add_org``). ``otp_sms`` (a phone number like ``+61412345678``) and
        ``otp_email`` set up codes by SMS and e-mail."""
        args = ["add-user", "--login", login, "--password", password]
        for role in roles:
            args += ["--role", role]
        if org:
            args += ["--org", org]
        for grant_org, role in grants:
            args += ["--grant", f"{grant_org}:{role}"]
        if totp:
            args.append("--totp")
        if otp_sms:
            args += ["--otp-sms", otp_sms]
        if otp_email:
            args.append("--otp-email")
        if passkey:
            args.append("--passkey")
        if security_key:
            args.append("--security-key")
        return self.cli(*args)

    def outbox(self, login: str) -> list[dict[str, Any]]:
        """The SMS and e-mail messages "sent" to ``login``, oldest first (``channel`` is
        ``sms`` or ``email``; ``code``, ``to``, ``purpose``, ``at``)."""
        return list(self.cli("outbox", "--login", login)["messages"])

    def latest_code(self, login: str, channel: str) -> str:
        """The latest one-time code sent to ``login`` by ``channel`` (``sms`` or ``email``)."""
        sent = [m for m in self.outbox(login) if m["channel"] == channel]
        if not sent:
            raise IdpError(f"no {channel} code was sent to {login}")
        return str(sent[-1]["code"])

    def add_org(self, name: str) -> dict[str, Any]:
        """An organisation (reused if the name exists): ``org_id``, ``name``,
        ``primary_domain``."""
        return self.cli("add-org", name)

    def add_client(
        self,
        redirect_uri: str,
        *,
        public: bool = False,
        post_logout_uri: str | None = None,
        id_token_roles: bool = False,
        id_token_userinfo: bool = False,
        clock_skew: int = 0,
        backchannel_logout_uri: str | None = None,
    ) -> dict[str, Any]:
        """A client with Zitadel's default application settings unless told otherwise:
        ``client_id``, ``client_secret``, ``project_id`` and the settings."""
        args = ["add-client", "--redirect-uri", redirect_uri]
        if post_logout_uri:
            args += ["--post-logout-uri", post_logout_uri]
        if public:
            args.append("--public")
        if id_token_roles:
            args.append("--id-token-roles")
        if id_token_userinfo:
            args.append("--id-token-userinfo")
        if clock_skew:
            args += ["--clock-skew", str(clock_skew)]
        if backchannel_logout_uri:
            args += ["--backchannel-logout-uri", backchannel_logout_uri]
        return self.cli(*args)

    def terminate_sessions(self, login: str) -> dict[str, Any]:
        """End every session of ``login`` at the provider (``idp terminate-sessions``); clients
        with a back-channel logout URI are sent a logout token before this returns.
        ``ended``, ``session_ids``, ``logout_tokens_delivered``."""
        return self.cli("terminate-sessions", "--login", login)

    def project_id(self) -> str:
        """The id of the one project every client belongs to."""
        return str(self.cli("project-id")["project_id"])

    def set_project_role_assertion(self, on: bool) -> None:
        """The project's "Assert Roles on Authentication" setting (off by default)."""
        self.cli("project-id", "--assert-roles" if on else "--no-assert-roles")

    def service_token(self) -> str:
        return str(self.cli("service-token")["token"])

    def service_key(self, out: Path | None = None) -> dict[str, Any]:
        """A new key file of the service user (Zitadel's JSON, mode 0600): ``path``,
        ``user_id``, ``key_id``. The key itself is only in the file."""
        args = ["service-key"]
        if out is not None:
            args += ["--out", str(out)]
        return self.cli(*args)

    def new_person(
        self,
        *roles: str,
        totp: bool = False,
        org: str | None = None,
        domain: str = "people.test",
        grants: Sequence[tuple[str, str]] = (),
        otp_sms: str | None = None,
        otp_email: bool = False,
        passkey: bool = False,
        security_key: bool = False,
    ) -> Person:
        """A new account, unique to this run: `nobody…` when it has no role. ``roles`` are
        held in ``org``; ``grants`` are ``(organisation, role)`` pairs elsewhere, and their
        organisations are created when missing."""
        for grant_org, _ in grants:
            if not grant_org.isdigit():
                self.add_org(grant_org)
        first = roles[0] if roles else (grants[0][1] if grants else "nobody")
        login = f"{first}.{os.getpid()}.{next(_people)}@{domain}"
        made = self.add_user(
            login,
            PASSWORD,
            list(roles),
            org=org,
            totp=totp,
            grants=grants,
            otp_sms=otp_sms,
            otp_email=otp_email,
            passkey=passkey,
            security_key=security_key,
        )
        return Person(
            login=login,
            password=PASSWORD,
            roles=list(dict.fromkeys([*roles, *(role for _, role in grants)])),
            user_id=made["user_id"],
            totp_secret=made.get("totp_secret", ""),
            recovery_codes=tuple(made.get("recovery_codes", ())),
            org_id=made.get("org_id", ""),
            grants=tuple(made.get("grants", ())),
        )

    def totp_code(self, secret: str, *, offset_steps: int = 0) -> str:
        return totp_code(secret, offset_steps=offset_steps)

    def url(self, path: str) -> str:
        return urljoin(self.issuer + "/", path.lstrip("/"))

    def log_text(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Ask a server to stop, and make sure it has."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _provider_env(data_dir: Path, issuer: str, return_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the provider has its own settings
    env.update(
        {
            "AIDIAL_IDP_DATA_DIR": str(data_dir),
            "AIDIAL_IDP_ISSUER": issuer,
            "AIDIAL_IDP_RETURN_URL": return_url,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def free_loopback_port() -> int:
    """A loopback port nothing listens on: for a server to take, or to be refused on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_local_idp(data_dir: Path, *, return_url: str = "http://testserver/settings/") -> LocalIdp:
    """Start the provider on a free loopback port and wait until discovery answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_loopback_port()
    issuer = f"http://127.0.0.1:{port}"
    log_path = data_dir / "server.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local_idp",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO_ROOT,
            env=_provider_env(data_dir, issuer, return_url),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    idp = LocalIdp(issuer, data_dir, return_url=return_url, process=process, log_path=log_path)
    wait_until_answering(
        f"{issuer}/.well-known/openid-configuration",
        process,
        log_path,
        name="the local identity provider",
        error=IdpError,
    )
    return idp


def wait_until_answering(
    url: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    *,
    name: str,
    error: type[Exception],
) -> None:
    """Poll `url` until it answers 200; stop and report the server's log if it exits or
    does not answer within START_TIMEOUT. The sleep is a poll interval, not a wait for an
    event."""
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                log = log_path.read_text(encoding="utf-8", errors="replace")
                raise error(f"{name} exited with {process.returncode}:\n{log}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(url).status_code == 200:
                    return
            if time.monotonic() > deadline:
                stop_process(process)
                log = log_path.read_text(encoding="utf-8", errors="replace")
                raise error(f"{name} did not answer within {START_TIMEOUT}s:\n{log}")
            time.sleep(POLL_INTERVAL)


# HTML --------------------------------------------------------------------------------------
_VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "area", "base", "col"}


class Page(HTMLParser):
    """The parts of a provider page a test needs: forms, texts and links by id, codes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, dict[str, Any]] = {}
        self.texts: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.recovery_codes: list[str] = []
        self._form: dict[str, Any] | None = None
        self._captures: list[list[Any]] = []  # [key, tag, depth, parts]
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        for capture in self._captures:
            if capture[1] == tag:
                capture[2] += 1
        if tag == "form":
            self._form = {
                "action": attr.get("action", ""),
                "method": attr.get("method", "get").lower(),
                "fields": {},
                "buttons": [],
            }
            self.forms[attr.get("id", f"form-{len(self.forms)}")] = self._form
        elif tag == "input" and self._form is not None and attr.get("name"):
            kind = attr.get("type", "text").lower()
            if kind in ("submit", "button"):
                self._form["buttons"].append((attr["name"], attr.get("value", "")))
            elif kind not in ("checkbox", "radio") or "checked" in attr:
                self._form["fields"][attr["name"]] = attr.get("value", "")
        elif tag == "button" and self._form is not None and attr.get("name"):
            self._form["buttons"].append((attr["name"], attr.get("value", "")))
        if tag == "a" and attr.get("id"):
            self.links[attr["id"]] = attr.get("href", "")
        if tag in _VOID:
            return
        if attr.get("id"):
            self._captures.append([attr["id"], tag, 1, []])
        if tag == "li" and "recovery-code" in attr.get("class", "").split():
            self._captures.append([None, tag, 1, []])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        for capture in list(self._captures):
            if capture[1] != tag:
                continue
            capture[2] -= 1
            if capture[2] == 0:
                self._captures.remove(capture)
                text = " ".join("".join(capture[3]).split())
                if capture[0] is None:
                    self.recovery_codes.append(text)
                else:
                    self.texts[capture[0]] = text

    def handle_data(self, data: str) -> None:
        for capture in self._captures:
            capture[3].append(data)


class HostedLogin:
    """Drives the provider's HTML forms with httpx like a browser without JavaScript (keeps
    cookies). Redirects inside the provider are followed; the first one leaving it is
    returned."""

    def __init__(self, idp: LocalIdp) -> None:
        self.idp = idp
        self.client = httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False)
        self.last_enrolment: dict[str, Any] | None = None
        self.last_page = ""

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HostedLogin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # plumbing ----------------------------------------------------------------------------
    def _inside_idp(self, url: str) -> bool:
        target, issuer = urlsplit(url), urlsplit(self.idp.issuer)
        return (target.scheme, target.netloc) == (issuer.scheme, issuer.netloc)

    def _follow(self, response: httpx.Response) -> httpx.Response | str:
        for _ in range(MAX_FORM_STEPS):
            if not response.is_redirect:
                self.last_page = response.text
                return response
            location = urljoin(str(response.url), response.headers["Location"])
            if not self._inside_idp(location):
                return location
            response = self.client.get(location)
        raise HostedLoginError("too many redirects inside the provider")

    def _open(self, url: str) -> httpx.Response | str:
        return self._follow(self.client.get(self.idp.url(url) if url.startswith("/") else url))

    def _submit(
        self,
        response: httpx.Response,
        form_id: str,
        values: dict[str, str],
        button: str | None = None,
    ) -> httpx.Response | str:
        page = Page(response.text)
        form = page.forms.get(form_id)
        if form is None:
            raise HostedLoginError(f"no form {form_id!r} on the page", response.text)
        data = dict(form["fields"])
        data.update(values)
        if button is not None:
            chosen = [b for b in form["buttons"] if b[1] == button]
            if not chosen:
                raise HostedLoginError(f"no {button!r} button in {form_id!r}", response.text)
            data[chosen[0][0]] = chosen[0][1]
        action = urljoin(str(response.url), form["action"] or str(response.url))
        return self._follow(self.client.post(action, data=data))

    @staticmethod
    def _page_error(response: httpx.Response) -> str | None:
        return Page(response.text).texts.get("error")

    def _expect_page(self, result: httpx.Response | str, what: str) -> httpx.Response:
        if isinstance(result, str):
            raise HostedLoginError(f"expected {what}, was sent to {result}")
        error = self._page_error(result)
        if error:
            raise HostedLoginError(error, result.text)
        return result

    def _enrol_on_setup_page(
        self, response: httpx.Response
    ) -> tuple[httpx.Response, dict[str, Any]]:
        page = Page(response.text)
        secret = page.texts.get("totp-secret", "")
        if not secret:
            raise HostedLoginError("the set-up page shows no secret", response.text)
        result = self._submit(response, "totp-setup-form", {"code": self.idp.totp_code(secret)})
        codes_page = self._expect_page(result, "the recovery codes page")
        codes = Page(codes_page.text).recovery_codes
        if len(codes) != 10:
            raise HostedLoginError("expected 10 recovery codes", codes_page.text)
        enrolment = {"totp_secret": secret, "recovery_codes": codes}
        self.last_enrolment = enrolment
        return codes_page, enrolment

    # the interface the portal's tests use ------------------------------------------------
    def authorize(
        self,
        authorize_url: str,
        login: str,
        password: str,
        *,
        code: str | None = None,
        setup_totp: bool = False,
        otp: str | None = None,
        webauthn: str | None = None,
    ) -> str:
        """Follow ``authorize_url`` through the hosted sign-in; return the redirect back to the
        client (``code`` and ``state``, or ``error``). ``otp`` (``sms`` or ``email``) completes
        the second step with a code sent that way, read from the provider's outbox;
        ``webauthn`` (``passkey`` or ``security_key``) with the provider's simulated check."""
        result = self._open(authorize_url)
        for _ in range(MAX_FORM_STEPS):
            if isinstance(result, str):
                return result
            page = Page(result.text)
            if "error" in page.texts:
                raise HostedLoginError(page.texts["error"], result.text)
            if "login-form" in page.forms:
                result = self._submit(
                    result, "login-form", {"loginName": login, "password": password}
                )
            elif "mfa-verify-form" in page.forms and otp is not None:
                result = self._answer_with_sent_code(result, login, otp)
            elif "mfa-verify-form" in page.forms and webauthn is not None:
                result = self._answer_with_webauthn(result, webauthn)
            elif "mfa-verify-form" in page.forms:
                if code is None:
                    raise HostedLoginError("the provider asks for a code", result.text)
                result = self._submit(result, "mfa-verify-form", {"code": code})
            elif "mfa-prompt-form" in page.forms:
                choice = "setup" if setup_totp else "skip"
                result = self._submit(result, "mfa-prompt-form", {}, button=choice)
            elif "totp-setup-form" in page.forms:
                codes_page, _ = self._enrol_on_setup_page(result)
                next_url = Page(codes_page.text).links.get("continue", "")
                result = self._open(urljoin(str(codes_page.url), next_url))
            else:
                raise HostedLoginError("unexpected page during sign-in", result.text)
        raise HostedLoginError("the sign-in did not finish")

    def _answer_with_webauthn(self, response: httpx.Response, method: str) -> httpx.Response | str:
        page = Page(response.text)
        if page.forms["mfa-verify-form"]["fields"].get("method") != method:
            link = page.links.get(f"use-{method}")
            if not link:
                raise HostedLoginError(f"the provider offers no {method}", response.text)
            response = self._expect_page(
                self._open(urljoin(str(response.url), link)), f"the {method} page"
            )
        return self._submit(response, "mfa-verify-form", {})

    def _answer_with_sent_code(
        self, response: httpx.Response, login: str, channel: str
    ) -> httpx.Response | str:
        page = Page(response.text)
        if page.forms["mfa-verify-form"]["fields"].get("method") != channel:
            link = page.links.get(f"use-{channel}")
            if not link:
                raise HostedLoginError(f"the provider offers no {channel} code", response.text)
            response = self._expect_page(
                self._open(urljoin(str(response.url), link)), f"the {channel} code page"
            )
        sent = self.idp.latest_code(login, channel)
        return self._submit(response, "mfa-verify-form", {"code": sent})

    def enrol_otp(self, channel: str, phone: str = "+61412345678") -> None:
        """Set up codes by ``sms`` (to ``phone``) or ``email`` on the security page, confirmed
        with the code from the outbox."""
        security = self._security_response()
        values = {"phone": phone} if channel == "sms" else {}
        setup = self._expect_page(
            self._submit(security, f"add-otp-{channel}-form", values), "the code confirmation"
        )
        login = Page(security.text).texts.get("signed-in-as", "")
        code = self.idp.latest_code(login, channel)
        done = self._expect_page(
            self._submit(setup, "otp-setup-form", {"code": code}), "the security page"
        )
        if "notice" not in Page(done.text).texts:
            raise HostedLoginError(f"{channel} codes were not set up", done.text)

    def remove_otp(self, channel: str) -> None:
        """Remove codes by ``sms`` or ``email`` on the security page (needs a second factor
        checked in the last five minutes)."""
        security = self._security_response()
        done = self._expect_page(
            self._submit(security, f"remove-otp-{channel}-form", {}), "the security page"
        )
        if "notice" not in Page(done.text).texts:
            raise HostedLoginError(f"{channel} codes were not removed", done.text)

    def sign_out(
        self,
        *,
        id_token_hint: str | None = None,
        client_id: str | None = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        choose_sign_out: bool = False,
    ) -> httpx.Response | str:
        """Open ``end_session`` like a browser: the URL leaving the provider, or the page it
        shows (the logout page without a hint, the signed-out page, an error page). With
        ``choose_sign_out``, press "Sign out" on the logout page."""
        params = {
            "id_token_hint": id_token_hint,
            "client_id": client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "state": state,
        }
        query = urlencode({k: v for k, v in params.items() if v is not None})
        result = self._open(f"/oidc/v1/end_session?{query}" if query else "/oidc/v1/end_session")
        if choose_sign_out and not isinstance(result, str):
            if "logout-form" not in Page(result.text).forms:
                raise HostedLoginError("no logout page to choose on", result.text)
            result = self._submit(result, "logout-form", {})
        return result

    def open_security_page(self) -> str:
        """The HTML of the security page, signed in with this browser's cookies."""
        return self._security_response().text

    def _security_response(self) -> httpx.Response:
        result = self._expect_page(self._open(SECURITY_PAGE), "the security page")
        if "login-form" in Page(result.text).forms:
            raise HostedLoginError("not signed in at the provider", result.text)
        return result

    def enrol_totp(self) -> dict[str, Any]:
        """Add TOTP on the security page, confirmed with a computed code."""
        security = self._security_response()
        link = Page(security.text).links.get("add-totp")
        if not link:
            raise HostedLoginError("the security page offers no TOTP set-up", security.text)
        setup = self._expect_page(self._open(urljoin(str(security.url), link)), "TOTP set-up")
        _, enrolment = self._enrol_on_setup_page(setup)
        return enrolment

    def remove_totp(self, code: str) -> None:
        security = self._security_response()
        result = self._submit(security, "remove-totp-form", {"code": code})
        page = self._expect_page(result, "the security page")
        if "notice" not in Page(page.text).texts:
            raise HostedLoginError("TOTP was not removed", page.text)

    def regenerate_recovery_codes(self) -> list[str]:
        security = self._security_response()
        result = self._expect_page(
            self._submit(security, "regenerate-form", {}), "the recovery codes page"
        )
        codes = Page(result.text).recovery_codes
        if len(codes) != 10:
            raise HostedLoginError("expected 10 recovery codes", result.text)
        return codes


@pytest.fixture(scope="session")
def local_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIdp]:
    idp = start_local_idp(tmp_path_factory.mktemp("local-idp"))
    try:
        yield idp
    finally:
        idp.stop()


@pytest.fixture
def hosted_login(local_idp: LocalIdp) -> Iterator[HostedLogin]:
    with HostedLogin(local_idp) as browser:
        yield browser
