"""User notifications from outbox events (issue #7): email, SMS and in-site message.

``notify_events(ids)`` runs on the ``notifications`` queue after the events were delivered. For each
event that concerns a user it decides whether there is something to tell (a deposit credited, a
withdrawal's new status, a login from a new IP address or device, a security setting changed, a KYC
result), renders ``templates/notifications/<template>*.txt`` in the user's language, and sends it on
every channel the user's ``NotificationPreference`` allows (and that they have an address for).

Exactly-once per (event, channel) is a unique constraint on ``NotificationDelivery``: a channel is
claimed by inserting its row *before* sending, so a redelivered or concurrently processed event
finds the row and sends nothing. A send that raised is marked ``failed`` and retried on a later
delivery (up to ``MAX_ATTEMPTS``); a worker that died mid-send leaves ``sending``, which is never
retried (no duplicate is better than a late one for these messages). An in-site message is created
in the same transaction as its row, so it is exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from apps.content.models import (
    DeliveryStatus,
    MessageKind,
    NotificationCategory,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
)
from apps.content.selectors import language_normalize, notification_preferences_get
from apps.content.services import message_send
from apps.events.models import OutboxEvent
from apps.users.models import LoginRecord, LoginResult, User
from apps.users.sms import sms_send

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3

NOTIFIED_EVENT_TYPES = (
    "deposit.credited",
    "withdrawal.updated",
    "user.login",
    "user.password.changed",
    "user.security.changed",
    "user.kyc.result",
)

# Security actions (apps/users/security.py ``security_record``) the user hears about; staff freezes
# are not announced to the user they target.
SECURITY_ACTIONS: dict[str, Any] = {
    "password_set": _("A login password was set for your account."),
    "password_change": _("Your login password was changed."),
    "password_reset": _("Your login password was reset."),
    "fund_password_set": _("A fund password was set for your account."),
    "fund_password_change": _("Your fund password was changed."),
    "fund_password_reset": _("Your fund password was reset."),
    "email_bind": _("An email address was bound to your account."),
    "email_change": _("The email address of your account was changed."),
    "email_unbind": _("The email address was removed from your account."),
    "phone_bind": _("A phone number was bound to your account."),
    "phone_change": _("The phone number of your account was changed."),
    "phone_unbind": _("The phone number was removed from your account."),
    "totp_bind": _("Google Authenticator was bound to your account."),
    "totp_unbind": _("Google Authenticator was removed from your account."),
    "totp_reset": _("Support removed Google Authenticator from your account at your request."),
    "account_close": _("Your account was closed."),
}
SECURITY_ACTIONS_SILENT = frozenset({"freeze", "unfreeze"})
SECURITY_ACTION_OTHER = _("The security settings of your account were changed.")

WITHDRAWAL_STATUSES_NOTIFIED = frozenset(
    {"reviewing", "approved", "broadcast", "completed", "rejected", "failed", "canceled"}
)


@dataclass
class Notification:
    category: str  # NotificationCategory: the preference it obeys
    template: str  # templates/notifications/<template>{_subject,,_sms}.txt
    kind: str  # MessageKind of the in-site message
    context: dict[str, Any] = field(default_factory=dict)


def _time(value: Any) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _login_novelty(event: OutboxEvent) -> tuple[bool, bool]:
    """(new IP, new device) of the login ``event`` reports, against the user's earlier good logins.

    ``user.login`` does not say which ``LoginRecord`` it belongs to; both rows are written in one
    transaction, record first, so it is the user's newest successful record not after the event.
    The very first login (right after registering) is new by definition and not worth an alert.
    """
    if event.user_id is None:
        return False, False
    successes = LoginRecord.objects.filter(user_id=event.user_id, result=LoginResult.SUCCESS)
    current = successes.filter(created_at__lte=event.created_at).order_by("-pk").first()
    if current is None:
        return False, False
    earlier = successes.filter(pk__lt=current.pk)
    if not earlier.exists():
        return False, False
    ip = event.payload.get("ip") or current.ip
    agent = event.payload.get("user_agent", current.user_agent)
    new_ip = bool(ip) and not earlier.filter(ip=ip).exists()
    new_device = not earlier.filter(user_agent=agent).exists()
    return new_ip, new_device


def notification_for(event: OutboxEvent) -> Notification | None:
    """What to tell the user about ``event``, or None when it is not worth a notification."""
    data = event.payload or {}
    if event.type == "deposit.credited":
        return Notification(
            NotificationCategory.DEPOSIT,
            "deposit_credited",
            MessageKind.ACCOUNT,
            {
                "amount": data.get("amount", ""),
                "token": data.get("token", ""),
                "chain": data.get("chain", ""),
                "txid": data.get("txid", ""),
                "bank_reference": data.get("bank_reference", ""),
            },
        )
    if event.type == "withdrawal.updated":
        status = data.get("status", "")
        if status not in WITHDRAWAL_STATUSES_NOTIFIED:
            return None
        return Notification(
            NotificationCategory.WITHDRAWAL,
            "withdrawal_updated",
            MessageKind.ACCOUNT,
            {
                "status": status,
                "withdrawal_id": data.get("withdrawal_id", ""),
                "amount": data.get("amount", ""),
                "fee": data.get("fee", ""),
                "arrival_amount": data.get("arrival_amount", ""),
                "token": data.get("token", ""),
                "address": data.get("address", ""),
                "txid": data.get("txid", ""),
                "reason": data.get("reason", ""),
            },
        )
    if event.type == "user.login":
        new_ip, new_device = _login_novelty(event)
        if not (new_ip or new_device):
            return None
        return Notification(
            NotificationCategory.LOGIN,
            "login_new_device",
            MessageKind.SECURITY,
            {
                "ip": data.get("ip", ""),
                "user_agent": data.get("user_agent", ""),
                "new_ip": new_ip,
                "new_device": new_device,
            },
        )
    if event.type in ("user.password.changed", "user.security.changed"):
        action = data.get("action", "")
        if action in SECURITY_ACTIONS_SILENT:
            return None
        return Notification(
            NotificationCategory.SECURITY,
            "security_changed",
            MessageKind.SECURITY,
            {"action": action, "change": SECURITY_ACTIONS.get(action, SECURITY_ACTION_OTHER)},
        )
    if event.type == "user.kyc.result":
        state = data.get("state", "")
        if state not in ("approved", "rejected"):
            return None
        return Notification(
            NotificationCategory.KYC,
            "kyc_result",
            MessageKind.ACCOUNT,
            {"state": state, "level": data.get("level", ""), "reason": data.get("reason", "")},
        )
    return None


@dataclass
class Rendered:
    subject: str
    body: str
    sms: str
    email_text: str
    email_html: str


def notification_render(*, notification: Notification, user: User, event: OutboxEvent, language: str) -> Rendered:
    """The notification's texts in ``language`` (gettext catalogs under locale/)."""
    organization = user.organization
    context = {
        **notification.context,
        "user": user,
        "broker": organization.name if organization else "",
        "time": _time(event.created_at),
    }
    with translation.override(language):
        subject = " ".join(render_to_string(f"notifications/{notification.template}_subject.txt", context).split())
        body = render_to_string(f"notifications/{notification.template}.txt", context).strip()
        sms = " ".join(render_to_string(f"notifications/{notification.template}_sms.txt", context).split())
        layout = {**context, "subject": subject, "body": body, "category": notification.category}
        email_text = render_to_string("notifications/email.txt", layout).strip() + "\n"
        email_html = render_to_string("notifications/email.html", layout)
    return Rendered(subject=subject, body=body, sms=sms, email_text=email_text, email_html=email_html)


# --- delivery --------------------------------------------------------------------------------------------
def _claim(
    *, event: OutboxEvent, user: User, category: str, channel: str, target: str, language: str
) -> NotificationDelivery | None:
    """Take the (event, channel) slot; None when it was sent (or is being sent) already."""
    try:
        with transaction.atomic():
            return NotificationDelivery.objects.create(
                event=event, user=user, category=category, channel=channel, target=target, language=language
            )
    except IntegrityError:
        retried = NotificationDelivery.objects.filter(
            event=event, channel=channel, status=DeliveryStatus.FAILED, attempts__lt=MAX_ATTEMPTS
        ).update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, error="")
        if retried != 1:
            return None
        return NotificationDelivery.objects.get(event=event, channel=channel)


def _finish(delivery: NotificationDelivery, error: BaseException | None) -> bool:
    if error is None:
        delivery.status, delivery.sent_at = DeliveryStatus.SENT, timezone.now()
    else:
        delivery.status, delivery.error = DeliveryStatus.FAILED, f"{type(error).__name__}: {error}"[:255]
    delivery.save(update_fields=["status", "sent_at", "error"])
    return error is None


def _send_email(*, to: str, rendered: Rendered) -> None:
    email = EmailMultiAlternatives(rendered.subject, rendered.email_text, settings.DEFAULT_FROM_EMAIL, [to])
    email.attach_alternative(rendered.email_html, "text/html")
    email.send()


def _send_channel(
    *,
    channel: str,
    event: OutboxEvent,
    user: User,
    notification: Notification,
    rendered: Rendered,
    language: str,
) -> bool:
    target = {"email": user.email, "sms": user.phone}.get(channel, "")
    if channel == NotificationChannel.MESSAGE:
        assert user.organization is not None
        with transaction.atomic():
            delivery = _claim(
                event=event, user=user, category=notification.category, channel=channel, target="", language=language
            )
            if delivery is None:
                return False
            delivery.message = message_send(
                organization=user.organization,
                user=user,
                title=rendered.subject[:200],
                body=rendered.body,
                kind=notification.kind,
            )
            delivery.status, delivery.sent_at = DeliveryStatus.SENT, timezone.now()
            delivery.save(update_fields=["message", "status", "sent_at"])
        return True
    delivery = _claim(
        event=event, user=user, category=notification.category, channel=channel, target=target, language=language
    )
    if delivery is None:
        return False
    try:
        if channel == NotificationChannel.EMAIL:
            _send_email(to=target, rendered=rendered)
        else:
            sms_send(to=target, body=rendered.sms)
    except Exception as exc:  # any backend failure is recorded, not raised
        logger.warning("notification %s of event %s to user %s failed: %s", channel, event.pk, user.pk, exc)
        return _finish(delivery, exc)
    return _finish(delivery, None)


def notify_event(event: OutboxEvent) -> int:
    """Send ``event``'s notification on the user's channels; returns how many were sent now."""
    user = event.user
    if user is None or user.organization_id is None:
        return 0
    notification = notification_for(event)
    if notification is None:
        return 0
    preferences: NotificationPreference = notification_preferences_get(user=user)
    channels = [
        channel
        for channel, address in (
            (NotificationChannel.EMAIL, user.email),
            (NotificationChannel.SMS, user.phone),
            (NotificationChannel.MESSAGE, "inbox"),
        )
        if address and preferences.wants(notification.category, channel)
    ]
    if not channels:
        return 0
    language = language_normalize(user.language)
    rendered = notification_render(notification=notification, user=user, event=event, language=language)
    sent = 0
    for channel in channels:
        sent += _send_channel(
            channel=channel, event=event, user=user, notification=notification, rendered=rendered, language=language
        )
    return sent


def notify_events(ids: list[int]) -> int:
    """Notify users of the outbox events ``ids`` (those of the types above); safe to call again."""
    events = (
        OutboxEvent.objects.filter(pk__in=ids, type__in=NOTIFIED_EVENT_TYPES, user__isnull=False)
        .select_related("user", "user__organization")
        .order_by("pk")
    )
    sent = 0
    for event in events:
        try:
            sent += notify_event(event)
        except Exception:  # one bad event must not starve the rest of the batch
            logger.exception("notifications for event %s failed", event.pk)
    return sent
