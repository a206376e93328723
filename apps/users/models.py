"""Tenants and people.

An ``Organization`` is a broker (券商 / 중개사), the tenant every user, key and system account belongs
to. ``User`` is the one custom user model for end users and staff alike; end users are addressed by
their public ``uid`` (a random 16-digit number, so ids reveal nothing about sign-up order or volume),
staff by username.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from simple_history.models import HistoricalRecords

from apps.core.money import AmountField


class Organization(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    # Transfers between two users of this broker (DESIGN.md §7).
    allow_internal_transfer = models.BooleanField(default=False)
    # Withdrawals at or below this value (in the token's own units) are approved automatically;
    # above ``withdraw_dual_approval_threshold`` two different staff members must approve.
    withdraw_auto_approve_threshold = AmountField()
    withdraw_dual_approval_threshold = AmountField(default=Decimal("1000000"))
    # Minimum KYC level needed to place orders; 0 means no gate.
    trading_kyc_level = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class UserHistoricalRecords(HistoricalRecords):
    """History of user rows, except saves that only stamp ``last_login`` (one per sign-in)."""

    def post_save(self, instance: models.Model, created: bool, using: str | None = None, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if not created and update_fields and set(update_fields) <= {"last_login"}:
            return
        super().post_save(instance, created, using=using, **kwargs)


class User(AbstractUser):
    uid = models.BigIntegerField(unique=True, null=True, blank=True, help_text="Public user id")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="users", null=True)
    phone = models.CharField(max_length=32, blank=True, default="")
    kyc_level = models.PositiveSmallIntegerField(default=0)
    language = models.CharField(max_length=10, default="en")
    # Hashed like the login password; required with the second factor for withdrawals.
    fund_password = models.CharField(max_length=128, blank=True, default="")
    # Shared by the user to invite others; ``invited_by`` is the level-1 inviter (level 2 is theirs).
    invite_code = models.CharField(max_length=16, unique=True, null=True, blank=True)
    invited_by = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="invitees")
    closed_at = models.DateTimeField(null=True, blank=True)

    # Staff edits (and role changes through ``groups``) are audited; password hashes are not copied.
    history = UserHistoricalRecords(excluded_fields=["password", "fund_password", "last_login"], m2m_fields=["groups"])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=~models.Q(email=""),
                name="user_email_unique_per_org",
            ),
            models.UniqueConstraint(
                fields=["organization", "phone"],
                condition=~models.Q(phone=""),
                name="user_phone_unique_per_org",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.username


class FreezeKind(models.TextChoices):
    LOGIN = "login"  # cannot log in
    TRADE = "trade"  # cannot place orders (all symbols, or one symbol when ``symbol`` is set)
    WITHDRAW = "withdraw"  # cannot withdraw (all tokens, or one token when ``token`` is set)


class UserFreeze(models.Model):
    """A staff-set freeze (冻结用户); active until lifted. Services that a kind guards check it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="freezes")
    kind = models.CharField(max_length=16, choices=FreezeKind.choices)
    symbol = models.ForeignKey("tokens.Symbol", on_delete=models.CASCADE, null=True, blank=True)
    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, null=True, blank=True)
    reason = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    lift_reason = models.CharField(max_length=255, blank=True, default="")

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["user", "kind", "is_active"])]

    def __str__(self) -> str:
        return f"{self.kind} freeze of {self.user}"


class CodePurpose(models.TextChoices):
    REGISTER = "register"  # prove an email/phone before registering it
    BIND = "bind"  # prove a new email/phone before binding it to a logged-in user
    SECURITY = "security"  # prove the user's current email/phone for a sensitive change
    RESET_PASSWORD = "reset_password"  # noqa: S105 - forgot login password
    RESET_FUND_PASSWORD = "reset_fund_password"  # noqa: S105 - forgot fund password


class VerificationCode(models.Model):
    """A one-time code sent to an email or phone; only its keyed hash is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=254)  # normalized email (lower case) or phone
    purpose = models.CharField(max_length=24, choices=CodePurpose.choices)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "target", "purpose", "-id"], name="vcode_lookup")]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.target}"


class LoginResult(models.TextChoices):
    SUCCESS = "success"  # logged in
    TOTP_REQUIRED = "totp_required"  # password right; waiting for the TOTP step
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - unknown account or wrong password
    WRONG_TOTP = "wrong_totp"  # TOTP step failed
    LOCKED = "locked"  # too many failures from this username and IP (django-axes)
    FROZEN = "frozen"  # staff froze login


class LoginRecord(models.Model):
    """Login history (登录历史): one row per attempt, shown to the user and to staff."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="login_records")
    account = models.CharField(max_length=254, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True, default="")
    result = models.CharField(max_length=16, choices=LoginResult.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="login_record_user")]

    def __str__(self) -> str:
        return f"{self.result} login of {self.account}"


class SecurityRecord(models.Model):
    """Audit of security changes: by the user (password, 2FA, contacts) or by staff (freezes, 2FA reset)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_records")
    action = models.CharField(max_length=40)
    acting_user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="security_record_user")]

    def __str__(self) -> str:
        return f"{self.action} of {self.user}"


class Favorite(models.Model):
    """A symbol the user starred (自选)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="favorites")
    symbol = models.ForeignKey("tokens.Symbol", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "symbol"], name="favorite_unique")]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.symbol_id}"
