"""User API: announcements, banners, in-site messages and notification preferences (docs/content.md).

Announcements and banners are public (a visitor sees the default organization's, or ``org_id``'s; a
logged-in user their own organization's) in the reader's language: ``language`` when given, else the
user's preference, else ``Accept-Language``. Messages and preferences need a login.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.content import selectors, services
from apps.content.models import (
    Announcement,
    Banner,
    Message,
    MessageKind,
    NotificationCategory,
    NotificationChannel,
    NotificationPreference,
)
from apps.core.errors import InvalidParameter
from apps.webapi.auth import current_user
from apps.webapi.auth_views import AnonymousApi
from apps.webapi.params import query_int

PAGING = [OpenApiParameter("from_id", int), OpenApiParameter("to_id", int), OpenApiParameter("limit", int)]
PUBLIC = [
    OpenApiParameter("language", str, enum=["en", "zh-hans", "ko"], description="Default: the reader's language"),
    OpenApiParameter("org_id", int, description="Visitors only; default: the first organization"),
]


def _ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _query_bool(request: Request, name: str) -> bool | None:
    value = (request.query_params.get(name) or "").lower()
    if value == "":
        return None
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise InvalidParameter(_("%(name)s must be true or false") % {"name": name})


class ContentPublicApi(AnonymousApi):
    def context(self, request: Request) -> tuple[int, str]:
        """(organization id, language) of what the reader sees."""
        organization = self.organization(request)
        language = selectors.language_normalize(request.query_params.get("language") or translation.get_language())
        return organization.pk, language


# --- announcements -----------------------------------------------------------------------------------
@extend_schema_serializer(component_name="ContentAnnouncement")
class AnnouncementSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField(required=False, help_text="Detail and pop-up only")
    language = serializers.CharField(help_text="Empty: written for every language")
    pinned = serializers.BooleanField()
    popup = serializers.BooleanField()
    publish_at = serializers.IntegerField()
    unpublish_at = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="The announcement as a web page")


def announcement_payload(request: Request, announcement: Announcement, *, body: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": announcement.pk,
        "title": announcement.title,
        "language": announcement.language,
        "pinned": announcement.pinned,
        "popup": announcement.popup,
        "publish_at": _ms(announcement.publish_at),
        "unpublish_at": _ms(announcement.unpublish_at),
        "url": request.build_absolute_uri(reverse("content-announcement", args=[announcement.pk])),
    }
    if body:
        row["body"] = announcement.body
    return row


class AnnouncementListApi(ContentPublicApi):
    @extend_schema(
        parameters=[OpenApiParameter("pinned", bool), *PUBLIC, *PAGING],
        responses=AnnouncementSerializer(many=True),
        summary="Announcements in their publish window, newest first (from_id paging)",
    )
    def get(self, request: Request) -> Response:
        organization_id, language = self.context(request)
        rows = selectors.announcement_list(
            organization_id=organization_id,
            language=language,
            pinned=_query_bool(request, "pinned"),
            from_id=query_int(request, "from_id"),
            to_id=query_int(request, "to_id"),
            limit=query_int(request, "limit"),
        )
        return Response([announcement_payload(request, a, body=False) for a in rows])


class AnnouncementDetailApi(ContentPublicApi):
    @extend_schema(parameters=PUBLIC, responses=AnnouncementSerializer, summary="One announcement")
    def get(self, request: Request, announcement_id: int) -> Response:
        organization_id, language = self.context(request)
        announcement = selectors.announcement_get(
            organization_id=organization_id, language=language, announcement_id=announcement_id
        )
        return Response(announcement_payload(request, announcement, body=True))


@extend_schema_serializer(component_name="ContentPopup")
class PopupSerializer(serializers.Serializer):  # type: ignore[type-arg]
    announcement = AnnouncementSerializer(allow_null=True)


class AnnouncementPopupApi(ContentPublicApi):
    @extend_schema(
        parameters=PUBLIC,
        responses=PopupSerializer,
        summary="The current pop-up announcement (null when there is none)",
    )
    def get(self, request: Request) -> Response:
        organization_id, language = self.context(request)
        popup = selectors.announcement_popup(organization_id=organization_id, language=language)
        return Response({"announcement": announcement_payload(request, popup, body=True) if popup else None})


# --- banners ------------------------------------------------------------------------------------------------
@extend_schema_serializer(component_name="ContentBanner")
class BannerSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    title = serializers.CharField()
    image_url = serializers.CharField()
    link = serializers.CharField()
    language = serializers.CharField()
    position = serializers.IntegerField()


def banner_payload(request: Request, banner: Banner) -> dict[str, Any]:
    return {
        "id": banner.pk,
        "title": banner.title,
        "image_url": request.build_absolute_uri(reverse("content-banner-image", args=[banner.pk])),
        "link": banner.link,
        "language": banner.language,
        "position": banner.position,
    }


class BannerListApi(ContentPublicApi):
    @extend_schema(parameters=PUBLIC, responses=BannerSerializer(many=True), summary="Banners, in display order")
    def get(self, request: Request) -> Response:
        organization_id, language = self.context(request)
        return Response(
            [
                banner_payload(request, b)
                for b in selectors.banner_list(organization_id=organization_id, language=language)
            ]
        )


# --- messages ------------------------------------------------------------------------------------------------
@extend_schema_serializer(component_name="ContentMessage")
class MessageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=MessageKind.values)
    title = serializers.CharField()
    body = serializers.CharField()
    broadcast = serializers.BooleanField(help_text="Sent to every user of the broker")
    read = serializers.BooleanField()
    created_at = serializers.IntegerField()


def message_payload(message: Message, *, read: bool) -> dict[str, Any]:
    return {
        "id": message.pk,
        "kind": message.kind,
        "title": message.title,
        "body": message.body,
        "broadcast": message.user_id is None,
        "read": read,
        "created_at": _ms(message.created_at),
    }


class MessageListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("read", bool, description="true: read only; false: unread only"),
            OpenApiParameter("kind", str, enum=MessageKind.values),
            *PAGING,
        ],
        responses=MessageSerializer(many=True),
        summary="Your in-site messages, newest first (from_id paging)",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.message_list(
            user=current_user(request),
            read=_query_bool(request, "read"),
            kind=selectors.message_kind_filter(request.query_params.get("kind")),
            from_id=query_int(request, "from_id"),
            to_id=query_int(request, "to_id"),
            limit=query_int(request, "limit"),
        )
        return Response([message_payload(m, read=read) for m, read in rows])


class MessageDetailApi(APIView):
    @extend_schema(responses=MessageSerializer, summary="One message; opening it marks it read")
    def get(self, request: Request, message_id: int) -> Response:
        message = services.message_mark_read(user=current_user(request), message_id=message_id)
        return Response(message_payload(message, read=True))


class MessageReadApi(APIView):
    @extend_schema(request=None, responses=MessageSerializer, summary="Mark one message read")
    def post(self, request: Request, message_id: int) -> Response:
        message = services.message_mark_read(user=current_user(request), message_id=message_id)
        return Response(message_payload(message, read=True))


@extend_schema_serializer(component_name="ContentReadAll")
class ReadAllSerializer(serializers.Serializer):  # type: ignore[type-arg]
    marked = serializers.IntegerField(help_text="How many were unread")


class MessageReadAllApi(APIView):
    @extend_schema(request=None, responses=ReadAllSerializer, summary="Mark all your messages read")
    def post(self, request: Request) -> Response:
        return Response({"marked": services.message_mark_all_read(user=current_user(request))})


@extend_schema_serializer(component_name="ContentUnreadCount")
class UnreadCountSerializer(serializers.Serializer):  # type: ignore[type-arg]
    unread = serializers.IntegerField()


class MessageUnreadCountApi(APIView):
    @extend_schema(responses=UnreadCountSerializer, summary="How many of your messages are unread")
    def get(self, request: Request) -> Response:
        return Response({"unread": selectors.message_unread_count(user=current_user(request))})


@extend_schema_serializer(component_name="ContentMessageKind")
class MessageKindSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.CharField()
    name = serializers.CharField()


class MessageKindListApi(AnonymousApi):
    @extend_schema(responses=MessageKindSerializer(many=True), summary="Message types, named in the reader's language")
    def get(self, request: Request) -> Response:
        return Response([{"kind": value, "name": str(label)} for value, label in MessageKind.choices])


# --- notification preferences -------------------------------------------------------------------------------
@extend_schema_serializer(component_name="ContentNotificationChannels")
class ChannelsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    email = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)
    message = serializers.BooleanField(required=False)


@extend_schema_serializer(component_name="ContentNotificationPreferences")
class PreferencesSerializer(serializers.Serializer):  # type: ignore[type-arg]
    deposit = ChannelsSerializer(required=False, help_text="A deposit was credited")
    withdrawal = ChannelsSerializer(required=False, help_text="A withdrawal changed status")
    login = ChannelsSerializer(required=False, help_text="A login from a new IP address or device")
    security = ChannelsSerializer(required=False, help_text="A security setting changed")
    kyc = ChannelsSerializer(required=False, help_text="Identity verification reviewed")


def preferences_payload(preferences: NotificationPreference) -> dict[str, dict[str, bool]]:
    return {
        category: {channel: preferences.wants(category, channel) for channel in NotificationChannel.values}
        for category in NotificationCategory.values
    }


class NotificationPreferencesApi(APIView):
    @extend_schema(responses=PreferencesSerializer, summary="Which notifications you get on which channel")
    def get(self, request: Request) -> Response:
        return Response(preferences_payload(selectors.notification_preferences_get(user=current_user(request))))

    @extend_schema(
        request=PreferencesSerializer,
        responses=PreferencesSerializer,
        summary="Switch notification channels on or off (what you leave out is kept)",
    )
    def patch(self, request: Request) -> Response:
        data = PreferencesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preferences = services.notification_preferences_update(user=current_user(request), changes=data.validated_data)
        return Response(preferences_payload(preferences))
