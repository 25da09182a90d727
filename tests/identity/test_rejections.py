"""Every refusal has one stable reason tag, and the error page has words for the common ones."""

import pytest

from aidial_portal.identity.rejections import Rejection
from aidial_portal.identity.tokens import TokenRejection


@pytest.mark.parametrize("reason", list(TokenRejection))
def test_every_refused_id_token_has_a_sign_in_reason(reason):
    assert Rejection.from_token(reason) == f"id_token_{reason}"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("access_denied", "provider_access_denied"),
        ("temporarily_unavailable", "provider_temporarily_unavailable"),
        ("unavailable", "provider_error"),  # never mistaken for our own provider_unavailable
        ("error", "provider_error"),
        ("made_up", "provider_error"),
    ],
)
def test_the_providers_error_is_named_only_when_it_is_a_known_one(error, reason):
    assert Rejection.from_provider_error(error) == reason
