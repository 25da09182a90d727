"""OpenID Connect Back-Channel Logout 1.0: tell each client a session signed in to that it ended.

A logout token is a JWT signed RS256 with the current key, header ``typ`` ``JWT`` (as Zitadel
signs it), with ``iss``, ``aud`` (the client id), ``iat`` one second ago, ``exp`` 15 minutes on,
``jti``, ``sid``, ``sub`` and the
back-channel logout event; never a ``nonce``. It is POSTed as the form field ``logout_token``.

Each delivery is queued and tried at once, with a short timeout, before the sign-out answers
(so a relying party has ended its own session by the time the browser returns). As Zitadel's
queue does, a failed try is repeated with the same `jti` (and claims), at most three tries
within five minutes (one and five minutes after the first); a 400 is final. The server drains
the queue every few seconds (`drain`); `idp deliver-logout-tokens` does it on demand. A failure
is logged, without the token, and never stops the sign-out.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.utils import timezone
from joserfc import jwt

from local_idp import config, crypto, keys
from local_idp.models import Client, IdpSession, LogoutDelivery

log = logging.getLogger("local_idp.backchannel")

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_LIFETIME = 15 * 60  # seconds
ISSUED_AT_SKEW = 1  # seconds
# Zitadel's queued delivery: at most 3 tries within 5 minutes, a 400 is final.
MAX_TRIES = 3
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5))  # from the first try
DELIVERY_TIMEOUT = 3.0  # seconds per client


def logout_token(client: Client, session: IdpSession) -> str:
    """A new token for `session` (the claims of a first try)."""
    return _sign(_claims(client.client_id, session.pk, session.user_id, crypto.new_token(16)))


def _claims(
    client_id: str,
    sid: str,
    sub: str,
    jti: str,
    *,
    issued_at: int | None = None,
    expires_at: int | None = None,
) -> dict[str, Any]:
    # As Zitadel's back-channel logout notifier builds it (zitadel/oidc NewLogoutTokenClaims
    # with a skew of one second): `iat` one second ago, `exp` the token lifetime from now.
    now = int(time.time())
    return {
        "iss": config.issuer(),
        "aud": [client_id],
        "iat": now - ISSUED_AT_SKEW if issued_at is None else issued_at,
        "exp": now + TOKEN_LIFETIME if expires_at is None else expires_at,
        "jti": jti,
        "sid": sid,
        "sub": sub,
        "events": {EVENT: {}},
    }


def _sign(claims: dict[str, Any]) -> str:
    key = keys.current_signing_key()
    # Zitadel signs it as any JWT: the header's `typ` is the generic `JWT`.
    header = {"alg": "RS256", "kid": key.kid or "", "typ": "JWT"}
    return jwt.encode(header, claims, key, ["RS256"])


def _where(uri: str) -> str:
    """The URI without its query (which is not ours to log)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _post(uri: str, token: str) -> int | None:
    """The HTTP status of one delivery, or None when nothing answered."""
    request = urllib.request.Request(  # noqa: S310 - an http(s) URI checked at registration
        uri,
        data=urlencode({"logout_token": token}).encode("ascii"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError) as error:
        log.warning("back-channel logout to %s failed: %s", _where(uri), type(error).__name__)
        return None


def attempt(delivery: LogoutDelivery, now: datetime) -> bool:
    """One try of a queued delivery; True when the client took it."""
    client = delivery.client
    token = _sign(
        _claims(
            client.client_id,
            delivery.session_id,
            delivery.subject,
            delivery.jti,
            issued_at=delivery.issued_at,
            expires_at=delivery.expires_at,
        )
    )
    status = _post(client.backchannel_logout_uri, token)
    delivery.tries += 1
    where = _where(client.backchannel_logout_uri)
    if status is not None and 200 <= status < 300:
        delivery.state = LogoutDelivery.DELIVERED
        log.info("back-channel logout delivered to %s for client %s", where, client.client_id)
    elif status == 400:
        # The client refused the token itself: trying again cannot help (Zitadel logs it).
        delivery.state = LogoutDelivery.FAILED
        log.error("back-channel logout to %s was refused with HTTP 400", where)
    elif delivery.tries >= MAX_TRIES:
        delivery.state = LogoutDelivery.FAILED
        log.warning("back-channel logout to %s failed %s times: given up", where, MAX_TRIES)
    else:
        delivery.next_try_at = delivery.created_at + RETRY_AFTER[delivery.tries - 1]
        log.warning(
            "back-channel logout to %s for client %s failed (HTTP %s); will try again",
            where,
            client.client_id,
            status,
        )
    delivery.save(update_fields=["tries", "state", "next_try_at"])
    return delivery.state == LogoutDelivery.DELIVERED


def deliver(client: Client, session: IdpSession) -> bool:
    """Queue a logout token for `client` and try it at once."""
    now = timezone.now()
    claims = _claims(client.client_id, session.pk, session.user_id, crypto.new_token(16))
    delivery = LogoutDelivery.objects.create(
        client=client,
        session_id=session.pk,
        subject=session.user_id,
        jti=claims["jti"],
        issued_at=claims["iat"],
        expires_at=claims["exp"],
        created_at=now,
        next_try_at=now,
    )
    return attempt(delivery, now)


def drain(now: datetime | None = None) -> dict[str, int]:
    """Try every queued delivery that is due at `now`; what happened."""
    moment = now or timezone.now()
    due = LogoutDelivery.objects.filter(
        state=LogoutDelivery.PENDING, next_try_at__lte=moment
    ).select_related("client")
    attempted = delivered = 0
    for delivery in due:
        attempted += 1
        delivered += attempt(delivery, moment)
    return {"attempted": attempted, "delivered": delivered}


def notify(sessions: Iterable[IdpSession]) -> int:
    """Send logout tokens for ended sessions; the number delivered at the first try."""
    delivered = 0
    for session in sessions:
        for client in session.clients.exclude(backchannel_logout_uri=""):
            delivered += deliver(client, session)
    return delivered
