"""Read-only admin of what the Org API keeps: its writes (by client_order_id) and uploads."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.orgapi.models import OrgApiRequest, OrgApiUpload


@admin.register(OrgApiRequest)
class OrgApiRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "organization", "operation", "client_order_id", "api_key", "created_at"]
    list_filter = ["operation", "organization"]
    search_fields = ["=client_order_id"]
    # Encrypted answers (logins, new API keys) are not shown.
    readonly_fields = [
        "organization",
        "operation",
        "client_order_id",
        "fingerprint",
        "api_key",
        "response",
        "created_at",
    ]
    exclude = ["response_encrypted"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OrgApiUpload)
class OrgApiUploadAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "organization", "kind", "original_name", "content_type", "size", "created_at"]
    list_filter = ["kind", "organization"]
    readonly_fields = ["organization", "kind", "file", "original_name", "content_type", "size", "sha256", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
