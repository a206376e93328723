"""Announcements, banners, in-site messages and user notifications (公告 / 站内信).

Everything here belongs to one ``Organization`` (a broker). A few design points:

* **Publish windows.** An announcement is visible when it is ``published`` and ``now`` is inside
  ``[publish_at, unpublish_at)``; a banner when it is active and inside its window. Nothing runs at
  the window's edges: visibility is a query condition, so there is no job to forget.
* **Broadcast messages are one row.** A message to every user of an organization has ``user`` NULL;
  nobody gets a copy. Read state is per user and sparse: a ``MessageRead`` row per message a user
  opened, plus a ``MessageReadCursor`` (``read_up_to``) that "mark all read" moves, so marking
  thousands of messages read is one row write.
* **Notifications are idempotent by constraint.** ``NotificationDelivery`` is unique per (outbox
  event, channel): a redelivered event finds its rows and sends nothing again.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

LANGUAGE_CHOICES = [("", _("All languages")), *settings.LANGUAGES]
BANNER_IMAGE_EXTENSIONS = ["png", "jpg", "jpeg", "gif", "webp", "svg"]


class AnnouncementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")  # being written; never shown
    PUBLISHED = "published", _("Published")  # shown inside its publish window
    WITHDRAWN = "withdrawn", _("Withdrawn")  # taken down by staff before its window ended


class Announcement(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    # Empty: shown to every language; otherwise only to users reading in that language.
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=16, choices=AnnouncementStatus.choices, default=AnnouncementStatus.DRAFT
    )
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    unpublish_at = models.DateTimeField(_("unpublish at"), null=True, blank=True, help_text=_("Empty: no end"))
    pinned = models.BooleanField(_("pinned"), default=False)
    popup = models.BooleanField(_("pop-up"), default=False, help_text=_("Shown as a pop-up when the app opens"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        indexes = [models.Index(fields=["organization", "status", "language", "-id"], name="announcement_visible")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unpublish_at__isnull=True)
                | models.Q(publish_at__isnull=False, unpublish_at__gt=models.F("publish_at")),
                name="announcement_window_ordered",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="published") | models.Q(publish_at__isnull=False),
                name="announcement_published_has_start",
            ),
        ]
        permissions = [("publish_announcement", "Can publish and withdraw announcements")]

    def __str__(self) -> str:
        return self.title


class Banner(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    image = models.FileField(
        _("image"), upload_to="content/banners/", validators=[FileExtensionValidator(BANNER_IMAGE_EXTENSIONS)]
    )
    link = models.CharField(_("link"), max_length=500, blank=True, default="", help_text=_("URL or app path"))
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES, blank=True, default="")
    # Display order: lower first.
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    publish_at = models.DateTimeField(_("publish at"))
    unpublish_at = models.DateTimeField(_("unpublish at"), null=True, blank=True, help_text=_("Empty: no end"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("banner")
        verbose_name_plural = _("banners")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unpublish_at__isnull=True) | models.Q(unpublish_at__gt=models.F("publish_at")),
                name="banner_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class MessageKind(models.TextChoices):
    """Message types (站内信类型), listed by ``GET messages/kinds``."""

    SYSTEM = "system", _("System notice")  # from the broker's staff
    ACTIVITY = "activity", _("Activity")  # promotions, campaigns
    ACCOUNT = "account", _("Account")  # deposits, withdrawals, KYC results
    SECURITY = "security", _("Security")  # logins, security settings


class Message(models.Model):
    """An in-site message to one user, or to every user of the organization when ``user`` is NULL."""

    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("type"), max_length=16, choices=MessageKind.choices, default=MessageKind.SYSTEM)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    # Broadcasts only: empty reaches every user, otherwise users whose language preference matches.
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["user", "-id"], name="message_user"),
            models.Index(fields=["organization", "-id"], name="message_org", condition=models.Q(user__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title


class MessageRead(models.Model):
    """One user opened one message (personal or broadcast)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "message"], name="message_read_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.message_id}"


class MessageReadCursor(models.Model):
    """Every message with ``id <= read_up_to`` counts as read for this user ("mark all read")."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    read_up_to = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id} read up to {self.read_up_to}"


# --- user notifications ---------------------------------------------------------------------------
class NotificationCategory(models.TextChoices):
    DEPOSIT = "deposit", _("Deposits")  # a deposit was credited
    WITHDRAWAL = "withdrawal", _("Withdrawals")  # a withdrawal changed status
    LOGIN = "login", _("Logins")  # a login from a new IP address or device
    SECURITY = "security", _("Security settings")  # password, fund password, 2FA, email/phone changes
    KYC = "kyc", _("Identity verification")  # a KYC application was reviewed


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    MESSAGE = "message", _("In-site message")


# (category, channel) → on unless the user turns it off. SMS costs the broker money per message
# (seed 001), so only security changes text by default.
NOTIFICATION_DEFAULTS: dict[tuple[str, str], bool] = {
    (category, channel): channel != NotificationChannel.SMS or category == NotificationCategory.SECURITY
    for category in NotificationCategory.values
    for channel in NotificationChannel.values
}


def _preference_field(category: str, channel: str) -> models.BooleanField:  # type: ignore[type-arg]
    return models.BooleanField(default=NOTIFICATION_DEFAULTS[(category, channel)])


class NotificationPreference(models.Model):
    """Which notifications a user wants on which channel; absent row = the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    deposit_email = _preference_field("deposit", "email")
    deposit_sms = _preference_field("deposit", "sms")
    deposit_message = _preference_field("deposit", "message")
    withdrawal_email = _preference_field("withdrawal", "email")
    withdrawal_sms = _preference_field("withdrawal", "sms")
    withdrawal_message = _preference_field("withdrawal", "message")
    login_email = _preference_field("login", "email")
    login_sms = _preference_field("login", "sms")
    login_message = _preference_field("login", "message")
    security_email = _preference_field("security", "email")
    security_sms = _preference_field("security", "sms")
    security_message = _preference_field("security", "message")
    kyc_email = _preference_field("kyc", "email")
    kyc_sms = _preference_field("kyc", "sms")
    kyc_message = _preference_field("kyc", "message")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification preferences of {self.user_id}"

    def wants(self, category: str, channel: str) -> bool:
        return bool(getattr(self, f"{category}_{channel}"))


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", _("Sending")  # claimed; the send is under way (or its worker died: never retried)
    SENT = "sent", _("Sent")  # handed to the email/SMS backend, or the message was created
    FAILED = "failed", _("Failed")  # the backend raised; retried on redelivery up to a few attempts


class NotificationDelivery(models.Model):
    """One notification of one outbox event on one channel; the unique key makes sending idempotent."""

    event = models.ForeignKey("events.OutboxEvent", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=16, choices=NotificationCategory.choices)
    channel = models.CharField(max_length=16, choices=NotificationChannel.choices)
    target = models.CharField(max_length=254, blank=True, default="")  # the email address or phone number
    language = models.CharField(max_length=10, default="en")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.SENDING)
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.CharField(max_length=255, blank=True, default="")
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "notification deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "channel"], name="notification_once_per_channel")]
        indexes = [models.Index(fields=["user", "-id"], name="notification_user")]

    def __str__(self) -> str:
        return f"{self.channel} of event {self.event_id}"
