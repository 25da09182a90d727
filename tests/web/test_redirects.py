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
