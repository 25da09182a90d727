"""Checking and managing a user's factors: password, TOTP, recovery codes, SMS/e-mail codes.

Views call these; nothing here knows about HTTP. Failed checks are counted per login name so
that five wrong passwords or codes within five minutes lock further attempts out.
"""

from __future__ import annotations

import enum
import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from local_idp import crypto, outbox
from local_idp.models import (
    SESSION_LIFETIME,
    FailedAttempt,
    IdpSession,
    OtpChallenge,
    RecoveryCode,
    TotpDevice,
    User,
)

MAX_FAILED_ATTEMPTS = 5
FAILED_ATTEMPT_WINDOW = timedelta(minutes=5)
TOTP_PERIOD = 30
TOTP_ISSUER = "AiDial local IdP"


class SecondFactor(enum.Enum):
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"
    OTP_SMS = "otp_sms"
    OTP_EMAIL = "otp_email"
    # WebAuthn: a passkey verifies the user, a U2F security key only their presence.
    PASSKEY = "passkey"
    SECURITY_KEY = "security_key"


# The session field each second factor's check is recorded in.
SESSION_FIELDS = {
    SecondFactor.TOTP: "totp_verified_at",
    SecondFactor.RECOVERY_CODE: "recovery_code_verified_at",
    SecondFactor.OTP_SMS: "otp_sms_verified_at",
    SecondFactor.OTP_EMAIL: "otp_email_verified_at",
    SecondFactor.PASSKEY: "webauthn_verified_at",
    SecondFactor.SECURITY_KEY: "webauthn_verified_at",
}
OTP_CODE_LIFETIME = timedelta(minutes=5)
OTP_CODE_DIGITS = 6


@dataclass(frozen=True)
class CodeCheck:
    factor: SecondFactor | None

    @property
    def ok(self) -> bool:
        return self.factor is not None


@functools.cache
def _unknown_user_password() -> str:
    """A hash to check against when the login name is unknown, so both cases cost the same."""
    return make_password(crypto.new_token())


def normalise_login(login_name: str) -> str:
    return login_name.strip().lower()


def is_locked_out(login_name: str, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    recent = FailedAttempt.objects.filter(
        login_name=normalise_login(login_name), at__gt=now - FAILED_ATTEMPT_WINDOW
    )
    return recent.count() >= MAX_FAILED_ATTEMPTS


def record_failure(login_name: str) -> None:
    FailedAttempt.objects.create(login_name=normalise_login(login_name))


def find_user(login_name: str) -> User | None:
    return (
        User.objects.filter(login_name__iexact=login_name.strip(), kind=User.HUMAN)
        .select_related("organization")
        .first()
    )


def check_login_password(login_name: str, password: str) -> User | None:
    """The user if the password matches; ``None`` (and a counted failure) otherwise."""
    user = find_user(login_name)
    if user is None or not user.password:
        check_password(password, _unknown_user_password())
        record_failure(login_name)
        return None
    if not check_password(password, user.password) or user.state in ("inactive", "locked"):
        record_failure(login_name)
        return None
    return user


def set_password(user: User, password: str) -> None:
    user.password = make_password(password)


# TOTP ------------------------------------------------------------------------------------
def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login_name, issuer_name=TOTP_ISSUER)


def current_step(now: datetime | None = None) -> int:
    return int((now or timezone.now()).timestamp()) // TOTP_PERIOD


def matching_step(secret: str, code: str, after_step: int, now: datetime | None = None) -> int:
    """The time step (previous, current or next) whose code this is, if newer than
    ``after_step``; 0 if none matches."""
    code = code.strip().replace(" ", "")
    totp = pyotp.TOTP(secret)
    step = current_step(now)
    for candidate in (step - 1, step, step + 1):
        if candidate > after_step and constant_time_compare(totp.generate_otp(candidate), code):
            return candidate
    return 0


def use_totp_code(device: TotpDevice, code: str) -> bool:
    """Accept a code once: its step must be newer than the last step used (no replay)."""
    step = matching_step(device.secret, code, device.last_used_step)
    if not step:
        return False
    # A conditional update, so two requests racing with one code cannot both win.
    won = TotpDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
        last_used_step=step
    )
    return won == 1


def use_recovery_code(user: User, code: str) -> bool:
    normalised = crypto.normalise_recovery_code(code)
    if len(normalised) != 10:
        return False
    code_digest = crypto.digest("recovery-code", normalised)
    used = RecoveryCode.objects.filter(
        user=user, code_digest=code_digest, used_at__isnull=True
    ).update(used_at=timezone.now())
    return used == 1


def check_second_factor(user: User, code: str) -> CodeCheck:
    """A current TOTP code or an unused recovery code; a wrong one counts as a failure."""
    device = TotpDevice.objects.filter(user=user).first()
    if device is not None:
        if use_totp_code(device, code):
            return CodeCheck(SecondFactor.TOTP)
        if use_recovery_code(user, code):
            return CodeCheck(SecondFactor.RECOVERY_CODE)
    record_failure(user.login_name)
    return CodeCheck(None)


def unused_recovery_codes(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def replace_recovery_codes(user: User) -> list[str]:
    """A fresh set of codes; the old set stops working. Only digests are kept."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = [crypto.new_recovery_code() for _ in range(crypto.RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(
            user=user,
            code_digest=crypto.digest("recovery-code", crypto.normalise_recovery_code(code)),
        )
        for code in codes
    )
    return codes


@transaction.atomic
def add_totp(user: User, secret: str, used_step: int = 0) -> list[str]:
    """Store a confirmed TOTP generator and issue recovery codes for it."""
    TotpDevice.objects.filter(user=user).delete()
    TotpDevice.objects.create(user=user, secret=secret, last_used_step=used_step)
    return replace_recovery_codes(user)


@transaction.atomic
def remove_totp(user: User, *, editor: str = "") -> int:
    """Recovery codes need a second factor (as in Zitadel), so they go with the TOTP.
    Targets are told (`user.human.mfa.otp.removed`) when there was one; `editor` is who did
    it (the user themselves on the security page)."""
    from local_idp import actions

    removed, _ = TotpDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    if not removed:
        return 0
    return actions.user_event("user.human.mfa.otp.removed", user, editor=editor or user.pk)


# One-time codes by SMS and e-mail ----------------------------------------------------------
OTP_KINDS = {SecondFactor.OTP_SMS: OtpChallenge.SMS, SecondFactor.OTP_EMAIL: OtpChallenge.EMAIL}


def has_otp(user: User, factor: SecondFactor) -> bool:
    return user.otp_sms if factor is SecondFactor.OTP_SMS else user.otp_email


def otp_destination(user: User, factor: SecondFactor) -> str:
    return user.phone if factor is SecondFactor.OTP_SMS else user.email


@transaction.atomic
def send_otp_code(user: User, factor: SecondFactor, purpose: str, to: str = "") -> None:
    """A new code for ``user`` (the previous one stops working), "sent" to the outbox."""
    kind = OTP_KINDS[factor]
    code = "".join(secrets.choice("0123456789") for _ in range(OTP_CODE_DIGITS))
    OtpChallenge.objects.filter(user=user, kind=kind).delete()
    OtpChallenge.objects.create(user=user, kind=kind, code_digest=crypto.digest("otp-code", code))
    outbox.deliver(user.login_name, kind, to or otp_destination(user, factor), code, purpose)


def use_otp_code(user: User, factor: SecondFactor, code: str) -> bool:
    """Accept the latest code sent for ``factor`` once, within its lifetime."""
    code = code.strip().replace(" ", "")
    if len(code) != OTP_CODE_DIGITS or not code.isdigit():
        return False
    used = OtpChallenge.objects.filter(
        user=user,
        kind=OTP_KINDS[factor],
        code_digest=crypto.digest("otp-code", code),
        created_at__gt=timezone.now() - OTP_CODE_LIFETIME,
    ).delete()[0]
    return used == 1


def check_otp(user: User, factor: SecondFactor, code: str) -> CodeCheck:
    """A code sent by SMS or e-mail; a wrong one counts as a failure."""
    if has_otp(user, factor) and use_otp_code(user, factor, code):
        return CodeCheck(factor)
    record_failure(user.login_name)
    return CodeCheck(None)


def set_otp(user: User, factor: SecondFactor, enabled: bool, phone: str = "") -> None:
    if factor is SecondFactor.OTP_SMS:
        user.otp_sms = enabled
        if phone:
            user.phone = phone
        user.save(update_fields=["otp_sms", "phone"])
    else:
        user.otp_email = enabled
        user.save(update_fields=["otp_email"])


# Sessions --------------------------------------------------------------------------------
def start_session(
    user: User, password_at: datetime, second_factor: SecondFactor | None, second_at: datetime
) -> IdpSession:
    """A new session with the factors checked during this sign-in (a new ``sid``)."""
    checks = {SESSION_FIELDS[second_factor]: second_at} if second_factor else {}
    return IdpSession.objects.create(
        user=user,
        created_at=password_at,
        changed_at=second_at if second_factor else password_at,
        sequence=2 if second_factor else 1,
        user_verified_at=password_at,
        password_verified_at=password_at,
        expires_at=password_at + SESSION_LIFETIME,
        webauthn_user_verified=second_factor is SecondFactor.PASSKEY,
        **checks,
    )


def record_second_factor(session: IdpSession, factor: SecondFactor) -> None:
    session.record_check(SESSION_FIELDS[factor], timezone.now())
