"""``user/sendNotice``: a message from the broker to one of its users (seed 001 §3.2).

The in-site message goes through ``apps.content.services.message_send`` (the user's inbox, in the
write's transaction). Email and SMS are sent with Django's mail backend and ``apps.users.sms`` once the
write commits, so a rolled-back request sends nothing and a retried one (same ``client_order_id``)
sends nothing again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext as _

from apps.content.services import message_send
from apps.core.errors import InvalidParameter
from apps.users.models import Organization, User
from apps.users.sms import sms_send

logger = logging.getLogger(__name__)

CHANNELS = ("in_site", "email", "sms")


def notice_send(
    *, organization: Organization, user: User, title: str, content: str, channels: list[str]
) -> dict[str, Any]:
    wanted = list(dict.fromkeys(channels or ["in_site"]))
    unknown = [c for c in wanted if c not in CHANNELS]
    if unknown:
        raise InvalidParameter(
            _("channels: unknown %(unknown)s (use %(channels)s)")
            % {"unknown": ", ".join(unknown), "channels": ", ".join(CHANNELS)}
        )
    if "email" in wanted and not user.email:
        raise InvalidParameter(_("The user has no email address"))
    if "sms" in wanted and not user.phone:
        raise InvalidParameter(_("The user has no phone number"))
    result: dict[str, Any] = {"uid": str(user.uid), "channels": wanted, "message_id": None}
    if "in_site" in wanted:
        message = message_send(organization=organization, user=user, title=title, body=content)
        result["message_id"] = message.pk
    email, phone = user.email, user.phone

    def send_later() -> None:
        # Each channel on its own: one provider failing does not stop the other.
        if "email" in wanted:
            try:
                send_mail(title, content, settings.DEFAULT_FROM_EMAIL, [email])
            except Exception:
                logger.exception("notice email to user %s failed", user.pk)
        if "sms" in wanted:
            try:
                sms_send(to=phone, body=f"{title}: {content}"[:500])
            except Exception:
                logger.exception("notice SMS to user %s failed", user.pk)

    transaction.on_commit(send_later)
    return result
