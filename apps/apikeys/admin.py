"""Staff view of API keys: never the secret; enable/disable as actions."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_update


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "organization", "user", "label", "short_key", "enabled", "expires_at", "last_used_at")
    list_filter = ("kind", "enabled", "organization")
    search_fields = ("key", "label", "user__email", "user__uid")
    readonly_fields = (
        "kind",
        "organization",
        "user",
        "key",
        "permissions",
        "ip_whitelist",
        "expires_at",
        "last_used_at",
        "created_at",
        "created_by",
    )
    exclude = ("secret_encrypted",)
    actions = ("disable_keys", "enable_keys")

    @admin.display(description="key")
    def short_key(self, obj: ApiKey) -> str:
        return f"{obj.key[:12]}…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by users (2FA) or by `create_api_key` / `create_org_api_key`

    @admin.action(description="Disable selected keys", permissions=["change"])
    def disable_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_update(api_key=api_key, enabled=False)

    @admin.action(description="Enable selected keys", permissions=["change"])
    def enable_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_update(api_key=api_key, enabled=True)
