from django.contrib import admin

from apps.events.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "type", "organization", "user", "created_at", "delivered_at", "attempts"]
    list_filter = ["type", "organization"]
    search_fields = ["=id", "type", "=user__uid"]
    readonly_fields = ["type", "organization", "user", "payload", "created_at", "delivered_at", "attempts"]
