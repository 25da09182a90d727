"""Every `next` value built from a corpus of open-redirect tricks resolves, the way a browser
resolves a `Location` header, to a path on the portal's own origin, or (forward auth) to a
host listed in `AIDIAL_FORWARD_AUTH_HOSTS` and nowhere else."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from aidial_portal.web.redirects import safe_next, safe_target

PORTAL = "https://portal.example.test/settings/"
# Pieces of known payloads (OWASP, PayloadsAllTheThings): slashes and their encodings and
# look-alikes, schemes, user-info and host tricks, whitespace browsers strip.
FRAGMENTS = [
    "/",
    "//",
    "\\",
    "/\\",
    "\\/",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "%252f",
    "%252F%252F",
    "%09",
    "%0a",
    "%0d",
    "%00",
    "%20",
    "\t",
    "\n",
    "\r",
    " ",
    "\x00",
    "\u3002",
    "\uff0f",
    "\u2215",
    "@",
    ":",
    "http:",
    "https:",
    "HTTPS:",
    "javascript:",
    "JaVaScRiPt:",
    "data:",
    "ftp:",
    "evil.example",
    "evil.example/",
    "@evil.example",
    "portal.example.test",
    ".",
    "..",
    "?",
    "#",
    "&next=",
    "//evil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "http://host\\@evil.example",
    "http:///evil.example",
    "///evil.example",
    "/settings/",
]
payloads = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6).map("".join)


def browser_resolve(base: str, location: str) -> str:
    """A WHATWG-style resolution of a relative Location: strip C0 and spaces at the ends,
    drop tabs and newlines, treat backslashes as slashes (special schemes)."""
    cleaned = location.strip("".join(chr(c) for c in range(0x21)))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    return urljoin(base, cleaned)


@settings(max_examples=1000)
@given(payloads)
def test_every_corpus_payload_resolves_to_a_same_origin_path(payload: str) -> None:
    result = safe_next(payload)
    assert result.startswith("/")
    target, portal = urlsplit(browser_resolve(PORTAL, result)), urlsplit(PORTAL)
    assert (target.scheme, target.netloc) == (portal.scheme, portal.netloc), (payload, result)


# Forward auth: absolute `next` URLs are allowed on these hosts only.
LISTED = ("wiki.example.test", "*.apps.example.test")
ABSOLUTE_FRAGMENTS = [
    *FRAGMENTS,
    "https://",
    "http://",
    "HtTpS://",
    "https:",
    "https:/",
    "https:///",
    "wiki.example.test",
    "wiki.example.test.evil.example",
    "evil.example?wiki.example.test",
    "wiki.example.test@evil.example",
    "evil.example#wiki.example.test",
    "a.apps.example.test",
    "apps.example.test",
    "evilapps.example.test",
    ".apps.example.test",
    ":8443",
    ":99999",
    ":x",
    "[::1]",
    "%2e",
    "%40",
]
absolute_payloads = st.lists(st.sampled_from(ABSOLUTE_FRAGMENTS), min_size=1, max_size=6).map(
    "".join
)


def lands_on_a_listed_host(hostname: str | None) -> bool:
    return hostname is not None and (
        hostname == "wiki.example.test" or hostname.endswith(".apps.example.test")
    )


@settings(max_examples=3000)
@given(absolute_payloads)
def test_an_absolute_next_lands_only_on_a_listed_host(payload: str) -> None:
    result = safe_target(payload, LISTED)
    if result is None:
        return
    target, portal = urlsplit(browser_resolve(PORTAL, result)), urlsplit(PORTAL)
    if result.startswith("/"):
        assert (target.scheme, target.netloc) == (portal.scheme, portal.netloc), (payload, result)
    else:
        assert target.scheme in {"http", "https"}, (payload, result)
        assert lands_on_a_listed_host(target.hostname), (payload, result)
        assert "@" not in target.netloc, (payload, result)


@settings(max_examples=500)
@given(absolute_payloads)
def test_with_no_listed_host_every_next_stays_on_the_portal(payload: str) -> None:
    result = safe_target(payload, ())
    assert (
        result is None
        or urlsplit(browser_resolve(PORTAL, result)).netloc == urlsplit(PORTAL).netloc
    ), (payload, result)
