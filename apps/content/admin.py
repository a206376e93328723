"""Staff pages for announcements, banners, in-site messages and notification deliveries.

Every save goes through ``apps.content.services`` (which checks permissions: publishing needs
``content.publish_announcement``). An announcement is written as a draft; ticking "Publish" on its
form, or the "Publish" list action, publishes it inside the window set by "publish at" /
"unpublish at". Announcements and banners keep an edit history (django-simple-history).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from apps.content import services
from apps.content.models import (
    Announcement,
    AnnouncementStatus,
    Banner,
    Message,
    NotificationDelivery,
    NotificationPreference,
)
from apps.core.errors import BrokerError
from apps.users.models import User


def _acting(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- announcements -----------------------------------------------------------------------------------
class AnnouncementForm(forms.ModelForm):  # type: ignore[type-arg]
    publish = forms.BooleanField(
        label=_("Publish"),
        required=False,
        help_text=_("Publish on save, inside the window above (from now when 'publish at' is empty)."),
    )

    class Meta:
        model = Announcement
        fields = [
            "organization",
            "title",
            "body",
            "language",
            "pinned",
            "popup",
            "publish_at",
            "unpublish_at",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("publish_at"), data.get("unpublish_at")
        publishing = data.get("publish") or (
            self.instance.pk is not None and self.instance.status == AnnouncementStatus.PUBLISHED
        )
        if publishing and end is not None and end <= timezone.now():
            raise ValidationError(_("The publish window has already ended."))
        if end is not None and start is None and not data.get("publish"):
            raise ValidationError(_("Set 'publish at' together with 'unpublish at'."))
        return data


@admin.register(Announcement)
class AnnouncementAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    form = AnnouncementForm
    list_display = [
        "id",
        "title",
        "organization",
        "language",
        "status",
        "visible_now",
        "publish_at",
        "unpublish_at",
        "pinned",
        "popup",
    ]
    list_filter = ["status", "organization", "language", "pinned", "popup"]
    search_fields = ["title", "body"]
    date_hierarchy = "publish_at"
    readonly_fields = ["status", "created_by", "published_by", "created_at", "updated_at"]
    actions = ["publish_selected", "withdraw_selected"]

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(services.PUBLISH_PERMISSION)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A published announcement is withdrawn, not deleted, so its history stays.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Editing what users see now is publishing: read-only without the publish permission.
        if obj is not None and obj.status == AnnouncementStatus.PUBLISHED and not self.has_publish_permission(request):
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if not self.has_publish_permission(request):
            form.base_fields.pop("publish", None)
        return form

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main = ["organization", "title", "body", "language", "pinned", "popup"]
        window = ["publish_at", "unpublish_at"]
        if self.has_publish_permission(request):
            window.append("publish")
        return [
            (None, {"fields": main}),
            (_("Publish window"), {"fields": window}),
            (_("Record"), {"fields": self.readonly_fields}),
        ]

    @admin.display(boolean=True, description=_("visible now"))
    def visible_now(self, obj: Announcement) -> bool:
        now = timezone.now()
        return (
            obj.status == AnnouncementStatus.PUBLISHED
            and obj.publish_at is not None
            and obj.publish_at <= now
            and (obj.unpublish_at is None or obj.unpublish_at > now)
        )

    def save_model(self, request: HttpRequest, obj: Announcement, form: Any, change: bool) -> None:
        data = form.cleaned_data
        fields = {
            "title": data["title"],
            "body": data["body"],
            "language": data["language"],
            "pinned": data["pinned"],
            "popup": data["popup"],
            "publish_at": data["publish_at"],
            "unpublish_at": data["unpublish_at"],
        }
        if change:
            saved = services.announcement_update(announcement=obj, acting_user=_acting(request), **fields)
        else:
            saved = services.announcement_create(
                organization=data["organization"], acting_user=_acting(request), **fields
            )
        if data.get("publish"):
            saved = services.announcement_publish(announcement=saved, acting_user=_acting(request))
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description=_("Publish selected announcements"), permissions=["publish"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[Announcement]) -> None:
        self._each(request, queryset, services.announcement_publish, _("published"))

    @admin.action(description=_("Withdraw selected announcements"), permissions=["publish"])
    def withdraw_selected(self, request: HttpRequest, queryset: QuerySet[Announcement]) -> None:
        self._each(request, queryset, services.announcement_withdraw, _("withdrawn"))

    def _each(self, request: HttpRequest, queryset: QuerySet[Announcement], action: Any, done_label: Any) -> None:
        done = 0
        for announcement in queryset:
            try:
                action(announcement=announcement, acting_user=_acting(request))
                done += 1
            except BrokerError as exc:
                self.message_user(request, f"{announcement}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} {done_label}", messages.SUCCESS)


# --- banners ---------------------------------------------------------------------------------------------
class BannerForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Banner
        fields = [
            "organization",
            "title",
            "image",
            "link",
            "language",
            "position",
            "is_active",
            "publish_at",
            "unpublish_at",
        ]

    def clean_link(self) -> str:
        try:
            return services.banner_link_clean(self.cleaned_data.get("link") or "")
        except BrokerError as exc:
            raise ValidationError(exc.message) from None


@admin.register(Banner)
class BannerAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    form = BannerForm
    list_display = ["id", "thumbnail", "title", "organization", "language", "position", "is_active", "publish_at"]
    list_display_links = ["id", "title"]
    list_filter = ["is_active", "organization", "language"]
    search_fields = ["title", "link"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    @admin.display(description=_("image"))
    def thumbnail(self, obj: Banner) -> str:
        if not obj.image:
            return "-"
        return format_html('<img src="/content/banners/{}/image" style="max-height:40px" alt="">', obj.pk)

    def save_model(self, request: HttpRequest, obj: Banner, form: Any, change: bool) -> None:
        data = form.cleaned_data
        fields = {
            "title": data["title"],
            "link": data["link"],
            "language": data["language"],
            "position": data["position"],
            "is_active": data["is_active"],
            "unpublish_at": data["unpublish_at"],
        }
        if change:
            saved = services.banner_update(
                banner=obj,
                acting_user=_acting(request),
                publish_at=data["publish_at"],
                image=data["image"] if "image" in form.changed_data else None,
                **fields,
            )
        else:
            saved = services.banner_create(
                organization=data["organization"],
                image=data["image"],
                acting_user=_acting(request),
                publish_at=data["publish_at"],
                **fields,
            )
        obj.pk = saved.pk
        obj.refresh_from_db()


# --- in-site messages ---------------------------------------------------------------------------------------
class MessageForm(forms.ModelForm):  # type: ignore[type-arg]
    recipient_uid = forms.IntegerField(
        label=_("Recipient uid"), required=False, help_text=_("Empty: every user of the organization.")
    )

    class Meta:
        model = Message
        fields = ["organization", "kind", "title", "body", "language"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        uid, organization = data.get("recipient_uid"), data.get("organization")
        data["recipient"] = None
        if uid is not None and organization is not None:
            recipient = User.objects.filter(uid=uid, organization=organization).first()
            if recipient is None:
                raise ValidationError(_("No user with this uid in the organization."))
            data["recipient"] = recipient
        return data


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Sent messages are records: they can be read here, not edited or deleted."""

    form = MessageForm
    list_display = ["id", "title", "organization", "kind", "recipient", "language", "created_by", "created_at"]
    list_filter = ["kind", "organization", "language"]
    search_fields = ["title", "body", "=user__uid"]
    raw_id_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).select_related("organization", "user", "created_by")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["organization", "recipient_uid", "kind", "title", "body", "language"]
        return ["organization", "recipient", "kind", "title", "body", "language", "created_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return []
        return self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("recipient"))
    def recipient(self, obj: Message) -> str:
        return str(obj.user.uid) if obj.user is not None else str(_("everyone"))

    def save_model(self, request: HttpRequest, obj: Message, form: Any, change: bool) -> None:
        data = form.cleaned_data
        sent = services.message_send(
            organization=data["organization"],
            user=data["recipient"],
            kind=data["kind"],
            title=data["title"],
            body=data["body"],
            language=data["language"],
            acting_user=_acting(request),
        )
        obj.pk = sent.pk
        obj.refresh_from_db()


# --- notifications --------------------------------------------------------------------------------------------
@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "event", "user", "category", "channel", "target", "language", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "category", "language"]
    search_fields = ["=user__uid", "target", "=event__id"]
    list_select_related = ["event", "user"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    """Users choose these themselves (User API); staff can look, to answer "why didn't I get a mail"."""

    list_display = ["user", "updated_at"]
    search_fields = ["=user__uid", "user__email"]
    list_select_related = ["user"]
