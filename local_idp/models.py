"""The provider's state: organisations, the project, users and their factors, clients, sessions.

The models implement Authlib's server-side interfaces by duck typing rather than inheriting its
mixins, so that the command line does not pay for importing Authlib.

Secrets that the provider only needs to recognise (client secrets, recovery codes, personal
access tokens, authorization codes, access tokens) are stored as keyed digests. TOTP secrets
must be readable to check codes, as in Zitadel (which encrypts them at rest).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone

from local_idp import crypto

# Every model declares its manager: the repository's mypy runs with the portal's settings, where
# this app is not installed, so django-stubs cannot add ``objects`` by itself.

ROLE_KEYS = (
    "partner_admin",
    "aidial_admin",
    "aidial_operator",
    "client_admin",
    "client_manager",
    "client_staff",
    "partner_user",
)

SESSION_LIFETIME = timedelta(hours=12)
AUTHORIZATION_CODE_LIFETIME = timedelta(minutes=10)


def new_resource_id() -> str:
    """An 18-digit numeric id, shaped like Zitadel's resource ids."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


class Organization(models.Model):
    objects: ClassVar[models.Manager[Organization]] = models.Manager()
    id = models.CharField(primary_key=True, max_length=32, default=new_resource_id)
    name = models.CharField(max_length=200, unique=True)
    primary_domain = models.CharField(max_length=253, unique=True)

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    objects: ClassVar[models.Manager[Project]] = models.Manager()
    id = models.CharField(primary_key=True, max_length=32, default=new_resource_id)
    name = models.CharField(max_length=200, unique=True)
    # Zitadel's "Assert Roles on Authentication" (projectRoleAssertion): off by default.
    assert_roles = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


PROJECT_NAME = "AiDial Portal"


def the_project() -> Project:
    """The one project every client belongs to (its id is the second ID-token audience)."""
    project, _ = Project.objects.get_or_create(name=PROJECT_NAME)
    return project


class User(models.Model):
    objects: ClassVar[models.Manager[User]] = models.Manager()
    HUMAN = "human"
    MACHINE = "machine"

    id = models.CharField(primary_key=True, max_length=32, default=new_resource_id)
    kind = models.CharField(
        max_length=10, choices=[(HUMAN, "Human"), (MACHINE, "Machine")], default=HUMAN
    )
    login_name = models.CharField(max_length=254, unique=True)
    display_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    email_verified = models.BooleanField(default=True)
    password = models.CharField(max_length=256, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    otp_sms = models.BooleanField(default=False)
    otp_email = models.BooleanField(default=False)
    # WebAuthn credentials, marked only (`add-user --passkey / --security-key`): a headless
    # browser cannot run the real ceremony, so the sign-in step is simulated (views/login.py).
    passkey = models.BooleanField(default=False)
    security_key = models.BooleanField(default=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT)
    organization_id: str
    created_at = models.DateTimeField(default=timezone.now)
    # Zitadel's user states (`UserState`, proto/zitadel/user/v2/user.proto), without the prefix;
    # `inactive` (`idp deactivate-user`) and `locked` cannot sign in.
    state = models.CharField(
        max_length=10,
        choices=[(s, s) for s in ("active", "inactive", "locked", "initial")],
        default="active",
    )

    def __str__(self) -> str:
        return self.login_name

    @property
    def roles(self) -> list[str]:
        """The roles this user holds in their own organisation."""
        return list(
            Grant.objects.filter(user=self, organization_id=self.organization_id)
            .order_by("id")
            .values_list("role", flat=True)
        )

    @property
    def has_totp(self) -> bool:
        return TotpDevice.objects.filter(user=self).exists()

    @property
    def has_second_factor(self) -> bool:
        return self.otp_sms or self.otp_email or self.passkey or self.security_key or self.has_totp


class Grant(models.Model):
    """One project role held in one organisation (Zitadel's user grant, one role per row)."""

    objects: ClassVar[models.Manager[Grant]] = models.Manager()
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grants")
    user_id: str
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    organization_id: str
    role = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "role"], name="one_grant_per_role_and_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} in {self.organization_id}"


class TotpDevice(models.Model):
    """The one TOTP generator a user may have (Zitadel allows one per user)."""

    objects: ClassVar[models.Manager[TotpDevice]] = models.Manager()
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp")
    secret = models.CharField(max_length=64)
    # The highest time step accepted so far: a code can never be used twice.
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"TOTP generator {self.pk}"


class RecoveryCode(models.Model):
    objects: ClassVar[models.Manager[RecoveryCode]] = models.Manager()
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"recovery code {self.pk}"


class PersonalAccessToken(models.Model):
    objects: ClassVar[models.Manager[PersonalAccessToken]] = models.Manager()
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set for access tokens issued by the JWT profile grant; a personal access token has none.
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"personal access token {self.pk}"


class OtpChallenge(models.Model):
    """A one-time code sent by SMS or e-mail, waiting to be checked (stored as a digest)."""

    objects: ClassVar[models.Manager[OtpChallenge]] = models.Manager()
    SMS = "sms"
    EMAIL = "email"

    user = models.ForeignKey(User, on_delete=models.CASCADE)
    kind = models.CharField(max_length=8, choices=[(SMS, "SMS"), (EMAIL, "E-mail")])
    code_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} code {self.pk}"


class ServiceKey(models.Model):
    """A service user's key for the JWT profile grant; only its public half is kept."""

    objects: ClassVar[models.Manager[ServiceKey]] = models.Manager()
    id = models.CharField(primary_key=True, max_length=32, default=new_resource_id)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    user_id: str
    public_key_pem = models.TextField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"key {self.id}"


class FailedAttempt(models.Model):
    """A failed password or code check, counted per login name (existing or not)."""

    objects: ClassVar[models.Manager[FailedAttempt]] = models.Manager()
    login_name = models.CharField(max_length=254, db_index=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"failed attempt for {self.login_name}"


class Client(models.Model):
    """An OIDC client; implements Authlib's ``ClientMixin`` interface."""

    objects: ClassVar[models.Manager[Client]] = models.Manager()
    client_id = models.CharField(max_length=100, unique=True)
    secret_digest = models.CharField(max_length=64, blank=True)
    public = models.BooleanField(default=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT)
    project_id: str
    redirect_uris = models.JSONField(default=list)
    post_logout_redirect_uris = models.JSONField(default=list)
    # Zitadel's application settings, off (zero) by default as in Zitadel.
    id_token_role_assertion = models.BooleanField(default=False)
    id_token_userinfo_assertion = models.BooleanField(default=False)
    clock_skew = models.PositiveIntegerField(default=0)
    backchannel_logout_uri = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.client_id

    # Authlib's ClientMixin -------------------------------------------------------------
    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris)}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = list(self.redirect_uris)
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        from local_idp.claims import allowed_scopes

        return " ".join(allowed_scopes(scope or ""))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.public or not self.secret_digest:
            return False
        return crypto.digest_matches("client-secret", client_secret, self.secret_digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


class IdpSession(models.Model):
    """A sign-in session as the Session API v2 shows it (its id is the ``sid`` claim)."""

    objects: ClassVar[models.Manager[IdpSession]] = models.Manager()
    id = models.CharField(primary_key=True, max_length=32, default=new_resource_id)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    user_id: str
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)
    sequence = models.BigIntegerField(default=1)
    user_verified_at = models.DateTimeField()
    password_verified_at = models.DateTimeField(null=True, blank=True)
    totp_verified_at = models.DateTimeField(null=True, blank=True)
    recovery_code_verified_at = models.DateTimeField(null=True, blank=True)
    otp_sms_verified_at = models.DateTimeField(null=True, blank=True)
    otp_email_verified_at = models.DateTimeField(null=True, blank=True)
    # Zitadel's `webAuthN` session factor: a passkey check verifies the user (userVerified),
    # a U2F security key only their presence.
    webauthn_verified_at = models.DateTimeField(null=True, blank=True)
    webauthn_user_verified = models.BooleanField(default=False)
    expires_at = models.DateTimeField()
    terminated_at = models.DateTimeField(null=True, blank=True)
    # The clients this session signed in to (back-channel logout tells each of them).
    clients = models.ManyToManyField(Client, blank=True)

    def __str__(self) -> str:
        return f"session {self.id}"

    @property
    def is_active(self) -> bool:
        return self.terminated_at is None and self.expires_at > timezone.now()

    @property
    def _otp_checks(self) -> list[datetime]:
        return [
            t
            for t in (self.totp_verified_at, self.otp_sms_verified_at, self.otp_email_verified_at)
            if t
        ]

    @property
    def auth_time(self) -> datetime:
        """The latest password, WebAuthn, TOTP, SMS or e-mail code check; a recovery-code check
        does not move it."""
        checks = [
            t
            for t in (self.password_verified_at, self.webauthn_verified_at, *self._otp_checks)
            if t
        ]
        return max(checks) if checks else self.user_verified_at

    @property
    def second_factor_at(self) -> datetime | None:
        checks = [
            t
            for t in (*self._otp_checks, self.recovery_code_verified_at, self.webauthn_verified_at)
            if t
        ]
        return max(checks) if checks else None

    @property
    def amr(self) -> list[str]:
        """Zitadel's mapping (``AuthMethodTypesToAMR``, internal/api/oidc/amr.go): password
        ``pwd``; TOTP, SMS code or e-mail code one shared ``otp``; U2F or passkey ``user`` (a
        passkey, user verified, counts as two factors); ``mfa`` at two or more. A recovery code
        has no case there: it adds nothing, and does not count as a factor."""
        values: list[str] = []
        factors = 0
        if self.password_verified_at:
            values.append("pwd")
            factors += 1
        if self._otp_checks:
            values.append("otp")
            factors += 1
        if self.webauthn_verified_at:
            values.append("user")
            factors += 2 if self.webauthn_user_verified else 1
        if factors >= 2:
            values.append("mfa")
        return values

    def record_check(self, field: str, at: datetime) -> None:
        setattr(self, field, at)
        self.changed_at = at
        self.sequence += 1
        self.save(update_fields=[field, "changed_at", "sequence"])


class AuthorizationCode(models.Model):
    """Implements Authlib's OIDC ``AuthorizationCodeMixin`` interface."""

    objects: ClassVar[models.Manager[AuthorizationCode]] = models.Manager()
    code_digest = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    client_id: int
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    session = models.ForeignKey(IdpSession, on_delete=models.CASCADE)
    session_id: str
    redirect_uri = models.TextField()
    scope = models.TextField(blank=True)
    nonce = models.CharField(max_length=512, blank=True)
    code_challenge = models.CharField(max_length=128, blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    auth_time = models.DateTimeField()
    amr = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"authorization code for {self.client_id}"

    @property
    def is_expired(self) -> bool:
        return self.created_at + AUTHORIZATION_CODE_LIFETIME < timezone.now()

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce or None

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> None:
        return None  # Zitadel never issues acr

    def get_amr(self) -> list[str]:
        return list(self.amr)


class AccessToken(models.Model):
    """Implements Authlib's ``TokenMixin`` interface (stored as a digest only)."""

    objects: ClassVar[models.Manager[AccessToken]] = models.Manager()
    token_digest = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    client_id: int
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    scope = models.TextField(blank=True)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_in = models.IntegerField(default=3600)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"access token for {self.client_id}"

    def check_client(self, client: Client) -> bool:
        return bool(self.client_id == client.pk)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return self.issued_at + timedelta(seconds=self.expires_in) < timezone.now()

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> User:
        return self.user

    def get_client(self) -> Client:
        return self.client


class ActionTarget(models.Model):
    """An Actions v2 target (a webhook) that every event execution is sent to, signed with its
    own signing key (generated at creation and shown once, as Zitadel does)."""

    objects: ClassVar[models.Manager[ActionTarget]] = models.Manager()
    id = models.CharField(primary_key=True, max_length=32, default=new_resource_id)
    endpoint = models.TextField(unique=True)
    signing_key = models.CharField(max_length=64)
    timeout_seconds = models.PositiveIntegerField(default=10)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"action target {self.id}"


class LogoutDelivery(models.Model):
    """One logout token owed to one client: tried at once, then again while it failed (not a
    400), at most `backchannel.MAX_TRIES` times within five minutes, with the same `jti`, as
    Zitadel's queued back-channel logout does. The claims are kept, never the signed token."""

    objects: ClassVar[models.Manager[LogoutDelivery]] = models.Manager()
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"

    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    session_id = models.CharField(max_length=32)
    subject = models.CharField(max_length=32)
    jti = models.CharField(max_length=64, unique=True)
    issued_at = models.BigIntegerField()
    expires_at = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    tries = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField(default=timezone.now, db_index=True)
    state = models.CharField(max_length=10, default=PENDING, db_index=True)

    def __str__(self) -> str:
        return f"logout delivery {self.pk} ({self.state})"
