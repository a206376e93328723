"""Admin of the outbox and webhooks: events and delivery attempts are read-only records.

A webhook is registered here or through the Org API (``webhook/create``); the admin's add form makes
the secret and shows it once in the confirmation message, like API keys.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from apps.events.feed import ALL_TYPES
from apps.events.models import OutboxEvent, Webhook, WebhookAttempt, WebhookDelivery
from apps.events.webhooks import webhook_create, webhook_update


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "type", "organization", "org_seq", "user", "created_at", "delivered_at", "attempts"]
    list_filter = ["type", "organization"]
    search_fields = ["=id", "type", "=user__uid"]
    readonly_fields = ["type", "organization", "org_seq", "user", "payload", "created_at", "delivered_at", "attempts"]


class WebhookForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in sorted(ALL_TYPES)],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None selected: every type the feed sends by default (order events are opt-in).",
    )

    class Meta:
        model = Webhook
        fields = ["organization", "url", "event_types", "enabled", "description"]


class WebhookAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "duration_ms", "response_status", "succeeded", "error", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = WebhookForm
    list_display = ["id", "organization", "url", "enabled", "created_at"]
    list_filter = ["enabled", "organization"]
    search_fields = ["url"]

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            webhook_update(
                webhook=obj,
                url=data["url"],
                event_types=data["event_types"],
                enabled=data["enabled"],
                description=data.get("description", ""),
            )
            return
        webhook, secret = webhook_create(
            organization=data["organization"],
            url=data["url"],
            event_types=data["event_types"],
            description=data.get("description", ""),
            acting_user=request.user if request.user.is_authenticated else None,  # type: ignore[arg-type]
        )
        if not data["enabled"]:
            webhook_update(webhook=webhook, enabled=False)
        obj.pk = webhook.pk
        messages.warning(request, f"Webhook secret (shown once, keep it safe): {secret}")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "webhook", "event", "status", "attempts", "next_attempt_at", "delivered_at", "last_error"]
    list_filter = ["status", "webhook"]
    search_fields = ["=event__id", "=webhook__id"]
    readonly_fields = [
        "webhook",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "delivered_at",
    ]
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "delivery", "number", "started_at", "response_status", "succeeded", "error"]
    list_filter = ["succeeded"]
    readonly_fields = [
        "delivery",
        "number",
        "started_at",
        "duration_ms",
        "response_status",
        "response_body",
        "error",
        "succeeded",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
