"""Signing out at the provider: the kept ID token, the end-session URL and its return.

Zitadel (Login V2) ends its own session only when the end-session request carries
`id_token_hint`, so the ID token of each sign-in is kept, sealed, in the portal session until
the sign-out. The `state` sent with the end-session request must come back, unchanged and once,
for the signed-out page to say the provider confirmed it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import MutableMapping
from typing import Any

from authlib.common.urls import add_params_to_uri
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from aidial_portal.config import PortalConfig
from aidial_portal.identity.discovery import ProviderDirectory, ProviderUnavailable

logger = logging.getLogger("aidial_portal.identity")

# The ID token, sealed with a key only the browser's cookie can rebuild (see `keep_id_token`).
ID_TOKEN_KEY = "aidial_oidc_id_token"  # noqa: S105 - a session key name, not a secret
SIGN_OUT_STATE_KEY = "aidial_oidc_sign_out_state"


def keep_id_token(session: Any, id_token: str, *, secret: str) -> None:
    """Keep the ID token for the sign-out's `id_token_hint`, on the server only.

    It goes into the session sealed (JWE, `dir` + A256GCM) under a key derived from the
    session key, which the session store itself never keeps (it keeps only a hash): a copy of
    the session table or of Redis does not reveal the token, and no cookie carries it. Call it
    after `login()`, which gives the session its new key.
    """
    if not session.session_key:
        # `login()` flushed the session (another account, or a changed auth hash): a flushed
        # session has no key until it is saved, and the seal needs the key it will have.
        session.save()
    key = _sealing_key(session.session_key, secret)
    if key is None:
        return
    sealed = jwe.encrypt_compact({"alg": "dir", "enc": "A256GCM"}, id_token.encode(), key)
    session[ID_TOKEN_KEY] = sealed


def _kept_id_token(session: Any, *, secret: str) -> str:
    sealed = session.get(ID_TOKEN_KEY)
    key = _sealing_key(session.session_key, secret)
    if not isinstance(sealed, str) or key is None:
        return ""
    try:
        return (jwe.decrypt_compact(sealed, key).plaintext or b"").decode()
    except (JoseError, ValueError, UnicodeDecodeError):
        return ""  # another session key (cycled since), or tampered: sign out without a hint


def _sealing_key(session_key: str | None, secret: str) -> OctKey | None:
    if not session_key:
        return None
    digest = hmac.new(
        secret.encode(), b"aidial id_token seal\0" + session_key.encode(), hashlib.sha256
    ).digest()
    return OctKey.import_key(digest)


def end_session_url(
    session: Any,
    *,
    config: PortalConfig,
    directory: ProviderDirectory,
    secret: str,
) -> tuple[str, str] | None:
    """The provider's end-session URL for this sign-in, and the `state` it will send back.

    Read it before the portal session ends (the hint is in it). With Login V2, Zitadel ends
    its own session only when `id_token_hint` is sent; `client_id` must be the token's `azp`
    and `post_logout_redirect_uri` must be registered for this client. None when the provider
    names no end-session endpoint (or cannot be read): the portal session still ends.
    """
    try:
        endpoint = directory.metadata().get("end_session_endpoint")
    except ProviderUnavailable:
        endpoint = None
    if not isinstance(endpoint, str):
        return None
    state = secrets.token_urlsafe(24)
    params = [("client_id", config.client_id)]
    hint = _kept_id_token(session, secret=secret)
    if hint:
        params.insert(0, ("id_token_hint", hint))
    else:
        logger.warning("sign_out_without_id_token_hint: the provider session may stay signed in")
    params += [("post_logout_redirect_uri", signed_out_uri(config)), ("state", state)]
    return add_params_to_uri(endpoint, params), state


def signed_out_uri(config: PortalConfig) -> str:
    """Register exactly this as the application's post-logout redirect URI in Zitadel."""
    return config.base_url.rstrip("/") + "/signed-out/"


def remember_sign_out(session: MutableMapping[str, Any], state: str) -> None:
    """In the new, anonymous session: the `state` the provider must send back."""
    session[SIGN_OUT_STATE_KEY] = state


def sign_out_confirmed(session: MutableMapping[str, Any], returned: str | None) -> bool | None:
    """Whether the provider's return matches the sign-out this browser started.

    None: no sign-out at the provider was started here and no state came back (a plain visit).
    The expected state is single use.
    """
    expected = session.pop(SIGN_OUT_STATE_KEY, None)
    if not isinstance(expected, str):
        return None if not returned else False
    if not returned:
        return False
    return hmac.compare_digest(expected.encode(), returned.encode())
