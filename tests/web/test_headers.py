"""Headers a person never sees but depends on."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/settings/", "/help/", "/support/", "/admin/compliance/", "/admin/events/"]


@pytest.mark.parametrize("path", PAGES)
def test_signed_in_pages_are_private_and_their_forms_keep_their_origin(client, sign_in_as, path):
    sign_in_as(["aidial_admin"])
    response = client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    # `no-referrer` would make browsers send `Origin: null` with the page's own forms (Sign out
    # is on every page), which the CSRF check refuses.
    assert response["Referrer-Policy"] in {"same-origin", "strict-origin-when-cross-origin"}
