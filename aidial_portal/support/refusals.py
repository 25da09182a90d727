"""What the refusal says for each kind of secret: why, and what to do instead.

Never the matched value: the person can see their own text in the form.
"""

from __future__ import annotations

from dataclasses import dataclass

from aidial_portal.support.secret_guard import SecretKind


@dataclass(frozen=True)
class Refusal:
    what: str
    instead: str


REFUSALS: dict[SecretKind, Refusal] = {
    SecretKind.RECOVERY_CODE: Refusal(
        "a recovery code",
        "Anyone holding a recovery code can sign in as you, and support never needs one. "
        'Remove it and describe what happened instead (for example, "my recovery code was '
        'refused"). If you think a code was exposed, regenerate your recovery codes at the '
        "identity provider from Settings.",
    ),
    SecretKind.ONE_TIME_CODE: Refusal(
        "a one-time code",
        "Support never needs a code from your authenticator app. Remove it and describe what "
        'happened instead (for example, "the 6-digit code was refused at 10:40").',
    ),
    SecretKind.OTPAUTH_URI: Refusal(
        "an authenticator set-up link (otpauth://)",
        "That link holds your authenticator's secret. Remove it. If you shared it anywhere, set "
        "up your authenticator again at the identity provider from Settings.",
    ),
    SecretKind.TOTP_SEED: Refusal(
        "an authenticator set-up key (seed)",
        "The set-up key lets anyone generate your codes. Remove it. If you shared it anywhere, "
        "set up your authenticator again at the identity provider from Settings.",
    ),
    SecretKind.JWT: Refusal(
        "a sign-in token (JWT)",
        "Tokens can be used to act as you. Remove it and describe the error and the time it "
        "happened instead; the request id shown on the error page is safe to include.",
    ),
    SecretKind.BEARER_TOKEN: Refusal(
        "an access token or Authorization header",
        "Tokens can be used to act as you. Remove it and describe the request and the error "
        "instead; the request id shown on the error page is safe to include.",
    ),
    SecretKind.SESSION_COOKIE: Refusal(
        "a session cookie",
        "A session cookie lets anyone continue your signed-in session. Remove it and describe "
        "what happened instead. Signing out ends the session if you shared it.",
    ),
    SecretKind.CLIENT_SECRET: Refusal(
        "a client secret, API key or similar key",
        "Remove it and name the application or integration instead. If the key was shared, "
        "ask your administrator to rotate it.",
    ),
}
