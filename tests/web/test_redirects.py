import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidial_portal.web.redirects import safe_next

OPEN_REDIRECTS = [
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
    "http:///evil.example",
    "http://host\\@evil.example",
    "https://evil.example/",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "/\tevil",
    "\t//evil.example",
    "data:text/html,hi",
    "evil.example",
    "",
    None,
]


@pytest.mark.parametrize("payload", OPEN_REDIRECTS)
def test_open_redirect_payloads_resolve_to_the_dashboard(payload):
    assert safe_next(payload) == "/"


@pytest.mark.parametrize("path", ["/", "/settings/", "/admin/report?org=1&page=2#top"])
def test_same_origin_paths_are_kept(path):
    assert safe_next(path) == path


@given(st.text(max_size=60))
def test_every_next_value_resolves_to_a_same_origin_path(value):
    result = safe_next(value)
    assert result.startswith("/")
    assert not result.startswith("//")
    assert "\\" not in result
    assert result in {"/", value}


LISTED = ("wiki.example.test", "*.apps.example.test")


@pytest.mark.parametrize(
    "url",
    [
        "https://wiki.example.test/page?x=1#top",
        "http://wiki.example.test:8080/",
        "https://crm.apps.example.test/",
        "https://a.b.apps.example.test/deep/path",
        "HTTPS://WIKI.example.test/",
    ],
)
def test_an_absolute_next_on_a_forward_auth_host_is_kept(portal_config, url):
    portal_config(forward_auth_hosts=LISTED)
    assert safe_next(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/",
        "https://apps.example.test/",
        "https://wiki.example.test.evil.example/",
        "https://wiki.example.test@evil.example/",
        "https://user@wiki.example.test/",
        "https:wiki.example.test/",
        "https:/wiki.example.test/",
        "https:///wiki.example.test/",
        "//wiki.example.test/",
        "ftp://wiki.example.test/",
        "javascript://wiki.example.test/%0aalert(1)",
        "https://wiki.example.test:99999/",
        "https://wiki.example.test\\@evil.example/",
        "https://[::1]/",
    ],
)
def test_an_absolute_next_elsewhere_becomes_the_dashboard(portal_config, url):
    portal_config(forward_auth_hosts=LISTED)
    assert safe_next(url) == "/"


def test_without_forward_auth_hosts_no_absolute_next_is_kept(portal_config):
    portal_config(forward_auth_hosts=())
    assert safe_next("https://wiki.example.test/") == "/"
