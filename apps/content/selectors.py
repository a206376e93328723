"""Reads: what a user (or an anonymous visitor of an organization) sees, and unread state."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.content.models import (
    Announcement,
    AnnouncementStatus,
    Banner,
    Message,
    MessageKind,
    MessageRead,
    MessageReadCursor,
    NotificationPreference,
)
from apps.core.errors import InvalidParameter, NotFound
from apps.core.pagination import page_by_id
from apps.users.models import User


def language_normalize(language: str | None) -> str:
    """One of ``settings.LANGUAGES``' codes (``zh-Hans`` / ``zh_hans`` → ``zh-hans``); default English."""
    code = (language or "").strip().lower().replace("_", "-")
    known = {c.lower(): c for c, _ in settings.LANGUAGES}
    if code in known:
        return known[code]
    base = code.split("-")[0]
    if base == "zh":
        return "zh-hans"
    return known.get(base, settings.LANGUAGE_CODE)


def _in_window(now: datetime) -> Q:
    return Q(publish_at__lte=now) & (Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=now))


# --- announcements and banners --------------------------------------------------------------------
def announcements_visible(
    *, organization_id: int, language: str, now: datetime | None = None
) -> QuerySet[Announcement]:
    now = now or timezone.now()
    return Announcement.objects.filter(
        _in_window(now),
        organization_id=organization_id,
        status=AnnouncementStatus.PUBLISHED,
        language__in=["", language],
    )


def announcement_list(
    *,
    organization_id: int,
    language: str,
    pinned: bool | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
) -> list[Announcement]:
    queryset = announcements_visible(organization_id=organization_id, language=language)
    if pinned is not None:
        queryset = queryset.filter(pinned=pinned)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit, max_limit=100)


def announcement_get(*, organization_id: int, language: str, announcement_id: int) -> Announcement:
    announcement = (
        announcements_visible(organization_id=organization_id, language=language).filter(pk=announcement_id).first()
    )
    if announcement is None:
        raise NotFound(_("Announcement not found"))
    return announcement


def announcement_popup(*, organization_id: int, language: str) -> Announcement | None:
    """The current pop-up: the most recently started pop-up announcement (pinned ones first)."""
    return (
        announcements_visible(organization_id=organization_id, language=language)
        .filter(popup=True)
        .order_by("-pinned", "-publish_at", "-id")
        .first()
    )


def banner_list(*, organization_id: int, language: str, now: datetime | None = None) -> list[Banner]:
    now = now or timezone.now()
    return list(
        Banner.objects.filter(
            _in_window(now), organization_id=organization_id, is_active=True, language__in=["", language]
        ).order_by("position", "id")
    )


# --- messages --------------------------------------------------------------------------------------
def messages_visible(*, user: User) -> QuerySet[Message]:
    """The user's own messages, and broadcasts of their organization sent since they joined.

    A broadcast with a language reaches only users whose preference is that language.
    """
    broadcast = Q(
        user__isnull=True,
        organization_id=user.organization_id,
        created_at__gte=user.date_joined,
        language__in=["", user.language],
    )
    return Message.objects.filter(Q(user=user) | broadcast)


def message_read_up_to(*, user: User) -> int:
    cursor = MessageReadCursor.objects.filter(user=user).values_list("read_up_to", flat=True).first()
    return cursor or 0


def _unread(queryset: QuerySet[Message], *, user: User, read_up_to: int) -> QuerySet[Message]:
    opened = MessageRead.objects.filter(message=OuterRef("pk"), user=user)
    return queryset.filter(pk__gt=read_up_to).exclude(Exists(opened))


def _read(queryset: QuerySet[Message], *, user: User, read_up_to: int) -> QuerySet[Message]:
    opened = MessageRead.objects.filter(message=OuterRef("pk"), user=user)
    return queryset.filter(Q(pk__lte=read_up_to) | Exists(opened))


def message_list(
    *,
    user: User,
    read: bool | None = None,
    kind: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
) -> list[tuple[Message, bool]]:
    """A page of the user's messages with whether each is read (newest first, ``from_id`` paging)."""
    read_up_to = message_read_up_to(user=user)
    queryset = messages_visible(user=user)
    if kind:
        queryset = queryset.filter(kind=kind)
    if read is True:
        queryset = _read(queryset, user=user, read_up_to=read_up_to)
    elif read is False:
        queryset = _unread(queryset, user=user, read_up_to=read_up_to)
    page = page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit, max_limit=100)
    opened = set(
        MessageRead.objects.filter(user=user, message_id__in=[m.pk for m in page]).values_list("message_id", flat=True)
    )
    return [(m, m.pk <= read_up_to or m.pk in opened) for m in page]


def message_get(*, user: User, message_id: int) -> Message:
    message = messages_visible(user=user).filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("Message not found"))
    return message


def message_is_read(*, user: User, message: Message) -> bool:
    return (
        message.pk <= message_read_up_to(user=user) or MessageRead.objects.filter(user=user, message=message).exists()
    )


def message_unread_count(*, user: User) -> int:
    return _unread(messages_visible(user=user), user=user, read_up_to=message_read_up_to(user=user)).count()


def message_kind_filter(kind: str | None) -> str | None:
    if kind and kind not in MessageKind.values:
        raise InvalidParameter(_("kind must be one of %(kinds)s") % {"kinds": ", ".join(MessageKind.values)})
    return kind or None


# --- notification preferences ----------------------------------------------------------------------
def notification_preferences_get(*, user: User) -> NotificationPreference:
    """The user's preferences; an unsaved row holding the defaults when they never changed any."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)
