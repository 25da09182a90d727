"""The OAuth 2.0 / OpenID Connect protocol, on Authlib's server side.

Authlib validates requests and builds responses; this module only tells it where things are
stored and which claims Zitadel puts in the ID token.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from authlib.integrations.django_oauth2 import AuthorizationServer, BearerTokenValidator
from authlib.integrations.django_oauth2 import ResourceProtector as DjangoResourceProtector
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant as _AuthorizationCodeGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode as _OpenIDCode
from authlib.oidc.core.grants.util import create_half_hash
from joserfc import jwt

from local_idp import claims, config, crypto, keys
from local_idp.models import (
    AccessToken,
    AuthorizationCode,
    Client,
    IdpSession,
    User,
    the_project,
)

ID_TOKEN_LIFETIME = 3600


class IdentityProvider(AuthorizationServer):
    """Authlib's Django authorization server with hashed token storage."""

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> AccessToken:
        return AccessToken.objects.create(
            token_digest=crypto.digest("access-token", token["access_token"]),
            client=request.client,
            user=request.user,
            scope=token.get("scope", ""),
            expires_in=token.get("expires_in", ID_TOKEN_LIFETIME),
        )


class AuthorizationCodeGrant(_AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        session: IdpSession = request.idp_session  # set by views.oidc._issue_code
        data = request.payload.data
        AuthorizationCode.objects.create(
            code_digest=crypto.digest("authorization-code", code),
            client=request.client,
            user=request.user,
            session=session,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope or "",
            nonce=data.get("nonce") or "",
            code_challenge=data.get("code_challenge") or "",
            code_challenge_method=data.get("code_challenge_method") or "",
            auth_time=session.auth_time,
            amr=session.amr,
        )
        session.clients.add(request.client)

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = (
            AuthorizationCode.objects.filter(
                code_digest=crypto.digest("authorization-code", code), client=client
            )
            .select_related("session", "user", "user__organization", "client__project")
            .first()
        )
        if found is None or found.is_expired:
            return None
        return found

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        authorization_code.delete()

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User:
        return authorization_code.user


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only; required of public clients, checked whenever sent."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        super().validate_code_challenge(grant, redirect_uri)
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        if challenge and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only the 'S256' code_challenge_method is supported.")
        if not challenge and grant.request.client.public:
            raise InvalidRequestError("Public clients must use PKCE ('code_challenge').")


class OpenIDCode(_OpenIDCode):
    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return AuthorizationCode.objects.filter(
            client__client_id=request.payload.client_id, nonce=nonce
        ).exists()

    def resolve_client_private_key(self, client: Client) -> Any:
        return keys.current_signing_key()

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": keys.current_signing_key().kid or ""}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": config.issuer(),
            "aud": audience(client),
            "azp": client.client_id,
            "client_id": client.client_id,
            # Zitadel subtracts the application's clock skew from iat and auth_time.
            "iat": now - client.clock_skew,
            "exp": now + ID_TOKEN_LIFETIME,
        }

    def get_authorization_code_claims(
        self, authorization_code: AuthorizationCode
    ) -> dict[str, Any]:
        token_claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        token_claims["auth_time"] = (
            authorization_code.get_auth_time() - authorization_code.client.clock_skew
        )
        token_claims["sid"] = authorization_code.session_id
        return token_claims

    def encode_id_token(self, token: dict[str, Any], request: OAuth2Request) -> str:
        client: Client = request.client
        token_claims = self.get_client_claims(client)
        if request.authorization_code:
            token_claims.update(self.get_authorization_code_claims(request.authorization_code))
        access_token = token.get("access_token")
        if access_token:
            token_claims["at_hash"] = create_half_hash(access_token, "RS256").decode("ascii")
        token_claims.update(
            claims.id_token_user_claims(
                request.user,
                token["scope"],
                client.project,
                roles=client.id_token_role_assertion,
                userinfo=client.id_token_userinfo_assertion,
            )
        )
        key = keys.current_signing_key()
        return jwt.encode({"alg": "RS256", "kid": key.kid or ""}, token_claims, key, ["RS256"])

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        # Not called: encode_id_token above decides what the ID token carries.
        return UserInfo(claims.userinfo_claims(user, scope, the_project()))


def audience(client: Client) -> list[str]:
    """Every application's client id in the project, then the project id, as Zitadel does."""
    client_ids = list(
        Client.objects.filter(project_id=client.project_id)
        .order_by("created_at", "id")
        .values_list("client_id", flat=True)
    )
    if client.client_id not in client_ids:
        client_ids.append(client.client_id)
    return [*client_ids, client.project_id]


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return (
            AccessToken.objects.filter(token_digest=crypto.digest("access-token", token_string))
            .select_related("user", "user__organization", "client__project")
            .first()
        )


@functools.cache
def server() -> IdentityProvider:
    provider = IdentityProvider(Client, AccessToken)
    provider.register_grant(
        AuthorizationCodeGrant, [S256CodeChallenge(required=True), OpenIDCode(require_nonce=False)]
    )
    return provider


@functools.cache
def resource_protector() -> DjangoResourceProtector:
    protector = DjangoResourceProtector()
    protector.register_token_validator(AccessTokenValidator(AccessToken))
    return protector
