"""Every `next` value built from a corpus of open-redirect tricks resolves, the way a browser
resolves a `Location` header, to a path on the portal's own origin."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from aidial_portal.web.redirects import safe_next

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
