"""Prometheus metrics. Labels are reason tags, never values."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SIGN_INS = Counter("aidial_sign_ins_total", "Completed and refused sign-ins", ["result"])
GATE_DENIALS = Counter("aidial_gate_denials_total", "Requests refused by the MFA gate", ["reason"])
RECOVERY_CODE_SIGN_INS = Counter(
    "aidial_recovery_code_sign_ins_total", "Sign-ins that used a recovery code"
)
PROVIDER_API_ERRORS = Counter(
    "aidial_provider_api_errors_total", "MFA evidence that could not be read", ["reason"]
)
CALLBACK_SECONDS = Histogram("aidial_callback_seconds", "Time to handle the OIDC callback")
PROVIDER_CALL_SECONDS = Histogram(
    "aidial_provider_call_seconds", "Time to read MFA evidence from the provider"
)
SESSIONS_ENDED = Counter(
    "aidial_sessions_ended_total",
    "Portal sessions ended by lifetime, back-channel logout or revalidation",
    ["reason"],
)
FORWARD_AUTH_REFUSALS = Counter(
    "aidial_forward_auth_refusals_total",
    "Requests to other services refused by forward auth (/auth/forward/)",
    ["reason"],
)
