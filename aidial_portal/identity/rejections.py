"""Why a sign-in was refused: one enum of stable tags.

The tags reach logs, metrics labels, security events and the error page's `reason`, so their
values never change; the page's wording is one table in `web/views/auth.py`.
"""
# ruff: noqa: S105 - the members name the ID token in reason tags; none of them is a secret

from __future__ import annotations

from enum import StrEnum

from aidial_portal.identity.tokens import TokenRejection


class Rejection(StrEnum):
    """Why a sign-in was refused: stable tags for logs, metrics, events and the error page."""

    STATE_INVALID = "state_invalid"
    STATE_EXPIRED = "state_expired"
    CODE_MISSING = "code_missing"
    TOKEN_EXCHANGE_REFUSED = "token_exchange_refused"
    ID_TOKEN_MISSING = "id_token_missing"
    REFRESH_SUBJECT_MISMATCH = "refresh_subject_mismatch"
    REFRESH_NOT_FRESH = "refresh_not_fresh"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    ISSUER_MISMATCH = "issuer_mismatch"
    # Discovery puts an endpoint on another origin than the issuer's.
    ENDPOINT_OFF_ORIGIN = "endpoint_off_origin"
    # AIDIAL_ZITADEL_API_URL is plain http off loopback.
    API_URL_UNTRUSTED = "api_url_untrusted"
    # Userinfo answered for another subject than the ID token's.
    USERINFO_SUBJECT_MISMATCH = "userinfo_subject_mismatch"
    # The provider's own error answer (RFC 6749 section 4.1.2.1); any other is PROVIDER_ERROR.
    PROVIDER_ACCESS_DENIED = "provider_access_denied"
    PROVIDER_LOGIN_REQUIRED = "provider_login_required"
    PROVIDER_INTERACTION_REQUIRED = "provider_interaction_required"
    PROVIDER_CONSENT_REQUIRED = "provider_consent_required"
    PROVIDER_INVALID_REQUEST = "provider_invalid_request"
    PROVIDER_INVALID_SCOPE = "provider_invalid_scope"
    PROVIDER_SERVER_ERROR = "provider_server_error"
    PROVIDER_TEMPORARILY_UNAVAILABLE = "provider_temporarily_unavailable"
    PROVIDER_UNAUTHORIZED_CLIENT = "provider_unauthorized_client"
    PROVIDER_ERROR = "provider_error"
    # The ID token was refused: one member per `TokenRejection`, prefixed `id_token_` (made
    # here from that enum, so a new token check gets its sign-in reason with it).
    _ignore_ = "_members _token_reason"
    _members = vars()
    for _token_reason in TokenRejection:
        _members[f"ID_TOKEN_{_token_reason.name}"] = f"id_token_{_token_reason.value}"

    @classmethod
    def from_provider_error(cls, error: str) -> Rejection:
        """The provider's `error` parameter, if it is one we name; PROVIDER_ERROR otherwise."""
        named = f"provider_{error}"
        return cls(named) if named in _PROVIDER_ERRORS else cls.PROVIDER_ERROR

    @classmethod
    def from_token(cls, reason: TokenRejection) -> Rejection:
        return cls(f"id_token_{reason.value}")


_PROVIDER_ERRORS = frozenset(
    member.value
    for member in Rejection
    if member.value.startswith("provider_")
    and member not in (Rejection.PROVIDER_UNAVAILABLE, Rejection.PROVIDER_ERROR)
)
