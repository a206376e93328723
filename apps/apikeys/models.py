"""API keys of users (bots, SDKs) and of organizations (the Org API) — DESIGN.md §12.

The 64-character ``key`` is public and indexed; the 64-character secret is shown once and stored
only encrypted (``apps.core.crypto``), because HMAC verification needs the plaintext secret back.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiKeyKind(models.TextChoices):
    USER = "user", "User key"  # acts as one end user (BHEX OpenAPI, BGE API)
    ORG = "org", "Organization key"  # acts for the broker itself (Org API)


class ApiPermission(models.TextChoices):
    READ = "read", "Read"
    TRADE = "trade", "Trade"
    WITHDRAW = "withdraw", "Withdraw"
    TRANSFER = "transfer", "Transfer"


class ApiKey(models.Model):
    kind = models.CharField(max_length=8, choices=ApiKeyKind.choices, default=ApiKeyKind.USER)
    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, related_name="api_keys")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="api_keys"
    )
    label = models.CharField(max_length=64, blank=True)
    key = models.CharField(max_length=64, unique=True)
    secret_encrypted = models.TextField()
    permissions = models.JSONField(default=list)
    ip_whitelist = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="org", user__isnull=True) | models.Q(kind="user", user__isnull=False),
                name="apikey_kind_matches_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} key {self.key[:8]}…"

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions
