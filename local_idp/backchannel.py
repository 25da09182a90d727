"""OpenID Connect Back-Channel Logout 1.0: tell each client a session signed in to that it ended.

A logout token is a JWT signed RS256 with the current key, header ``typ`` ``logout+jwt``, with
``iss``, ``aud`` (the client id), ``iat``, a short ``exp``, ``jti``, ``sid``, ``sub`` and the
back-channel logout event; never a ``nonce``. It is POSTed as the form field ``logout_token``.

Delivery is attempted once per client with a short timeout, before the sign-out answers (so a
relying party has ended its own session by the time the browser returns). A failure is logged,
without the token, and never stops the sign-out.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

from joserfc import jwt

from local_idp import config, crypto, keys
from local_idp.models import Client, IdpSession

log = logging.getLogger("local_idp.backchannel")

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_LIFETIME = 120  # seconds
DELIVERY_TIMEOUT = 3.0  # seconds per client


def logout_token(client: Client, session: IdpSession) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": config.issuer(),
        "aud": [client.client_id],
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": crypto.new_token(16),
        "sid": session.pk,
        "sub": session.user_id,
        "events": {EVENT: {}},
    }
    key = keys.current_signing_key()
    header = {"alg": "RS256", "kid": key.kid or "", "typ": "logout+jwt"}
    return jwt.encode(header, claims, key, ["RS256"])


def _where(uri: str) -> str:
    """The URI without its query (which is not ours to log)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def deliver(client: Client, session: IdpSession) -> bool:
    uri = client.backchannel_logout_uri
    request = urllib.request.Request(  # noqa: S310 - an http(s) URI checked at registration
        uri,
        data=urlencode({"logout_token": logout_token(client, session)}).encode("ascii"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        log.warning(
            "back-channel logout to %s for client %s failed: %s",
            _where(uri),
            client.client_id,
            type(error).__name__,
        )
        return False
    if status >= 300:
        log.warning(
            "back-channel logout to %s for client %s was refused with HTTP %s",
            _where(uri),
            client.client_id,
            status,
        )
        return False
    log.info("back-channel logout delivered to %s for client %s", _where(uri), client.client_id)
    return True


def notify(sessions: Iterable[IdpSession]) -> int:
    """Send logout tokens for ended sessions; the number delivered."""
    delivered = 0
    for session in sessions:
        for client in session.clients.exclude(backchannel_logout_uri=""):
            delivered += deliver(client, session)
    return delivered
