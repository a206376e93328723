"""Writes: announcements, banners, in-site messages, read state, notification preferences.

Staff actions pass ``acting_user`` and are checked against model permissions here, so the admin and
any other caller get the same rules: publishing needs ``content.publish_announcement``, sending a
message as staff needs ``content.add_message``. System senders (the notifier, the Org API) pass no
``acting_user``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.content.models import (
    BANNER_IMAGE_EXTENSIONS,
    Announcement,
    AnnouncementStatus,
    Banner,
    Message,
    MessageKind,
    MessageRead,
    MessageReadCursor,
    NotificationCategory,
    NotificationChannel,
    NotificationPreference,
)
from apps.content.selectors import message_get, message_read_up_to, message_unread_count, messages_visible
from apps.core.errors import Conflict, InvalidParameter, PermissionDenied
from apps.users.models import Organization, User

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PUBLISH_PERMISSION = "content.publish_announcement"
SEND_PERMISSION = "content.add_message"


def _require(acting_user: User | None, permission: str, refusal: StrOrPromise) -> None:
    if acting_user is None or not acting_user.has_perm(permission):
        raise PermissionDenied(refusal)


def _language(language: str) -> str:
    if language and language not in dict(settings.LANGUAGES):
        raise InvalidParameter(_("Unsupported language: %(language)s") % {"language": language})
    return language


def _text(value: str, name: str, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidParameter(_("%(name)s is required") % {"name": name})
    if max_length is not None and len(value) > max_length:
        raise InvalidParameter(_("%(name)s is longer than %(max)d characters") % {"name": name, "max": max_length})
    return value


def _window(publish_at: datetime | None, unpublish_at: datetime | None) -> None:
    if unpublish_at is not None and publish_at is not None and unpublish_at <= publish_at:
        raise InvalidParameter(_("unpublish_at must be after publish_at"))


# --- announcements ---------------------------------------------------------------------------------
def announcement_create(
    *,
    organization: Organization,
    title: str,
    body: str,
    acting_user: User | None,
    language: str = "",
    pinned: bool = False,
    popup: bool = False,
    publish_at: datetime | None = None,
    unpublish_at: datetime | None = None,
) -> Announcement:
    """A draft announcement; ``announcement_publish`` makes it visible inside its window."""
    _window(publish_at, unpublish_at)
    if unpublish_at is not None and publish_at is None:
        raise InvalidParameter(_("Set publish_at together with unpublish_at"))
    with transaction.atomic():
        return Announcement.objects.create(
            organization=organization,
            title=_text(title, "title", 200),
            body=_text(body, "body"),
            language=_language(language),
            pinned=pinned,
            popup=popup,
            publish_at=publish_at,
            unpublish_at=unpublish_at,
            created_by=acting_user,
        )


def announcement_update(
    *,
    announcement: Announcement,
    acting_user: User | None,
    title: str,
    body: str,
    language: str,
    pinned: bool,
    popup: bool,
    publish_at: datetime | None,
    unpublish_at: datetime | None,
) -> Announcement:
    """Edit the text and settings; editing a published announcement changes what users see, so it
    needs the publish permission."""
    _window(publish_at, unpublish_at)
    with transaction.atomic():
        locked = Announcement.objects.select_for_update().get(pk=announcement.pk)
        if locked.status == AnnouncementStatus.PUBLISHED:
            _require(acting_user, PUBLISH_PERMISSION, _("You are not allowed to edit a published announcement"))
            if publish_at is None:
                raise InvalidParameter(_("A published announcement needs publish_at"))
        elif unpublish_at is not None and publish_at is None:
            raise InvalidParameter(_("Set publish_at together with unpublish_at"))
        locked.title = _text(title, "title", 200)
        locked.body = _text(body, "body")
        locked.language = _language(language)
        locked.pinned = pinned
        locked.popup = popup
        locked.publish_at = publish_at
        locked.unpublish_at = unpublish_at
        locked.save()
    return locked


def announcement_publish(
    *,
    announcement: Announcement,
    acting_user: User | None,
    publish_at: datetime | None = None,
    unpublish_at: datetime | None = None,
) -> Announcement:
    """Publish with a window: from ``publish_at`` (given, already set, or now) until ``unpublish_at``
    (given, already set, or open-ended)."""
    _require(acting_user, PUBLISH_PERMISSION, _("You are not allowed to publish announcements"))
    with transaction.atomic():
        locked = Announcement.objects.select_for_update().get(pk=announcement.pk)
        start = publish_at or locked.publish_at or timezone.now()
        end = unpublish_at or locked.unpublish_at
        _window(start, end)
        if end is not None and end <= timezone.now():
            raise InvalidParameter(_("The publish window has already ended"))
        locked.status = AnnouncementStatus.PUBLISHED
        locked.publish_at = start
        locked.unpublish_at = end
        locked.published_by = acting_user
        locked.save()
    return locked


def announcement_withdraw(*, announcement: Announcement, acting_user: User | None) -> Announcement:
    """Take a published announcement down now (it can be published again)."""
    _require(acting_user, PUBLISH_PERMISSION, _("You are not allowed to publish announcements"))
    with transaction.atomic():
        locked = Announcement.objects.select_for_update().get(pk=announcement.pk)
        if locked.status != AnnouncementStatus.PUBLISHED:
            raise Conflict(_("Only a published announcement can be withdrawn"))
        locked.status = AnnouncementStatus.WITHDRAWN
        locked.save(update_fields=["status", "updated_at"])
    return locked


# --- banners -----------------------------------------------------------------------------------------
def banner_link_clean(link: str) -> str:
    """A web URL or an app path; never a ``javascript:``/``data:`` URL a client would execute."""
    link = (link or "").strip()
    if link and not (link.startswith(("https://", "http://", "/")) and not link.startswith("//")):
        raise InvalidParameter(_("link must be an http(s) URL or a path starting with /"))
    return link


def _image(image: File) -> File:  # type: ignore[type-arg]
    name = image.name or ""
    if name.rsplit(".", 1)[-1].lower() not in BANNER_IMAGE_EXTENSIONS or "." not in name:
        raise InvalidParameter(_("The image must be one of: %(types)s") % {"types": ", ".join(BANNER_IMAGE_EXTENSIONS)})
    return image


def banner_create(
    *,
    organization: Organization,
    title: str,
    image: File,  # type: ignore[type-arg]
    acting_user: User | None,
    link: str = "",
    language: str = "",
    position: int = 0,
    is_active: bool = True,
    publish_at: datetime | None = None,
    unpublish_at: datetime | None = None,
) -> Banner:
    start = publish_at or timezone.now()
    _window(start, unpublish_at)
    if position < 0:
        raise InvalidParameter(_("position must not be negative"))
    banner = Banner(
        organization=organization,
        title=_text(title, "title", 200),
        link=banner_link_clean(link),
        language=_language(language),
        position=position,
        is_active=is_active,
        publish_at=start,
        unpublish_at=unpublish_at,
        created_by=acting_user,
    )
    banner.image.save(_image(image).name or "banner", image, save=False)
    try:
        with transaction.atomic():
            banner.save()
    except BaseException:
        banner.image.storage.delete(banner.image.name)
        raise
    return banner


def banner_update(
    *,
    banner: Banner,
    acting_user: User | None,
    title: str,
    link: str,
    language: str,
    position: int,
    is_active: bool,
    publish_at: datetime,
    unpublish_at: datetime | None,
    image: File | None = None,  # type: ignore[type-arg]
) -> Banner:
    _window(publish_at, unpublish_at)
    if position < 0:
        raise InvalidParameter(_("position must not be negative"))
    with transaction.atomic():
        locked = Banner.objects.select_for_update().get(pk=banner.pk)
        locked.title = _text(title, "title", 200)
        locked.link = banner_link_clean(link)
        locked.language = _language(language)
        locked.position = position
        locked.is_active = is_active
        locked.publish_at = publish_at
        locked.unpublish_at = unpublish_at
        if image is not None:
            locked.image.save(_image(image).name or "banner", image, save=False)
        locked.save()
    return locked


# --- in-site messages ----------------------------------------------------------------------------------
def message_send(
    *,
    organization: Organization,
    title: str,
    body: str,
    user: User | None = None,
    kind: str = MessageKind.SYSTEM,
    language: str = "",
    acting_user: User | None = None,
) -> Message:
    """Send a message to ``user``, or to every user of ``organization`` (one row, however many users).

    ``language`` narrows a broadcast to users reading in that language.
    """
    if acting_user is not None:
        _require(acting_user, SEND_PERMISSION, _("You are not allowed to send messages"))
    if kind not in MessageKind.values:
        raise InvalidParameter(_("kind must be one of %(kinds)s") % {"kinds": ", ".join(MessageKind.values)})
    if user is not None and user.organization_id != organization.pk:
        raise InvalidParameter(_("The user belongs to another organization"))
    with transaction.atomic():
        return Message.objects.create(
            organization=organization,
            user=user,
            kind=kind,
            title=_text(title, "title", 200),
            body=_text(body, "body"),
            language="" if user is not None else _language(language),
            created_by=acting_user,
        )


def message_mark_read(*, user: User, message_id: int) -> Message:
    """Mark one message read for ``user``; reading it again changes nothing."""
    message = message_get(user=user, message_id=message_id)
    if message.pk > message_read_up_to(user=user):
        try:
            with transaction.atomic():
                MessageRead.objects.get_or_create(user=user, message=message)
        except IntegrityError:  # a concurrent request marked it first
            pass
    return message


def message_mark_all_read(*, user: User) -> int:
    """Mark everything the user can see read: moves their cursor; returns how many were unread."""
    with transaction.atomic():
        cursor, _created = MessageReadCursor.objects.select_for_update().get_or_create(user=user)
        unread = message_unread_count(user=user)
        newest = messages_visible(user=user).aggregate(newest=Max("pk"))["newest"] or 0
        if newest > cursor.read_up_to:
            cursor.read_up_to = newest
            cursor.save(update_fields=["read_up_to", "updated_at"])
            # Rows below the cursor say nothing the cursor doesn't.
            MessageRead.objects.filter(user=user, message_id__lte=newest).delete()
    return unread


# --- notification preferences ----------------------------------------------------------------------------
def notification_preferences_update(*, user: User, changes: Mapping[str, Mapping[str, Any]]) -> NotificationPreference:
    """Switch channels per category: ``{"deposit": {"sms": true}, …}``; what isn't named keeps its value."""
    updates: dict[str, bool] = {}
    for category, channels in changes.items():
        if category not in NotificationCategory.values:
            raise InvalidParameter(_("Unknown notification category: %(category)s") % {"category": category})
        for channel, enabled in channels.items():
            if channel not in NotificationChannel.values:
                raise InvalidParameter(_("Unknown notification channel: %(channel)s") % {"channel": channel})
            if not isinstance(enabled, bool):
                raise InvalidParameter(_("%(name)s must be true or false") % {"name": f"{category}.{channel}"})
            updates[f"{category}_{channel}"] = enabled
    with transaction.atomic():
        preferences, _created = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        for field, value in updates.items():
            setattr(preferences, field, value)
        preferences.save()
    return preferences
