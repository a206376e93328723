"""Verification codes (验证码): send, check, consume.

A code is 6 random digits, valid ``VERIFICATION_CODE_TTL`` seconds, for one (organization, target,
purpose). Only a keyed HMAC of it is stored and compared in constant time. Each wrong guess is
counted in its own committed transaction, so a failing caller cannot roll the count back; after
``VERIFICATION_CODE_MAX_ATTEMPTS`` the code is dead. A new code for the same target and purpose is
refused for ``VERIFICATION_CODE_RESEND_SECONDS`` and replaces the previous one. Delivery (Django's
email backend, or ``SMS_BACKEND``) runs only after the row is committed.

Checking and consuming are two steps: ``code_check`` (own transaction, counts the attempt) before
the caller's transaction, ``code_consume`` (a conditional update) inside it, so a code is spent
exactly when the change it authorizes commits, and a second use fails.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.core.errors import CodeCooldown, CodeInvalid, InvalidParameter
from apps.users.models import CodePurpose, Organization, VerificationCode
from apps.users.sms import sms_send


def target_normalize(target: str) -> str:
    target = (target or "").strip()
    if not target:
        raise InvalidParameter(_("An email or phone number is required"))
    if "@" in target:
        return target.lower()
    phone = target.replace(" ", "").replace("-", "")
    digits = phone[1:] if phone.startswith("+") else phone
    if not digits.isdigit() or not 5 <= len(digits) <= 20:
        raise InvalidParameter(_("Invalid phone number: %(target)r") % {"target": target})
    return phone


def is_email(target: str) -> bool:
    return "@" in target


def contact_name(field: str) -> str:
    """``email`` / ``phone`` as a word of the active language, for messages that name the field."""
    if field == "email":
        return pgettext("contact field", "email")
    if field == "phone":
        return pgettext("contact field", "phone")
    return field


def _hash(*, organization_id: int, target: str, purpose: str, code: str) -> str:
    return salted_hmac(
        "apps.users.verification", f"{organization_id}:{target}:{purpose}:{code}", algorithm="sha256"
    ).hexdigest()


def _latest(*, organization_id: int, target: str, purpose: str) -> VerificationCode | None:
    return (
        VerificationCode.objects.filter(organization_id=organization_id, target=target, purpose=purpose)
        .order_by("-id")
        .first()
    )


def code_send(*, organization: Organization, target: str, purpose: str) -> VerificationCode:
    """Create a code for ``target`` and deliver it after commit (cooldown between sends)."""
    if purpose not in CodePurpose.values:
        raise InvalidParameter(_("Unknown purpose: %(purpose)r") % {"purpose": purpose})
    target = target_normalize(target)
    now = timezone.now()
    with transaction.atomic():
        previous = _latest(organization_id=organization.pk, target=target, purpose=purpose)
        if previous is not None:
            wait = previous.created_at + timedelta(seconds=settings.VERIFICATION_CODE_RESEND_SECONDS) - now
            if wait.total_seconds() > 0:
                raise CodeCooldown(
                    _("Wait %(seconds)s seconds before asking for another code")
                    % {"seconds": int(wait.total_seconds()) + 1}
                )
        # The previous code dies with the new one: only the latest can be used.
        VerificationCode.objects.filter(
            organization=organization, target=target, purpose=purpose, used_at__isnull=True
        ).update(expires_at=now)
        code = f"{secrets.randbelow(10**6):06d}"
        row = VerificationCode.objects.create(
            organization=organization,
            target=target,
            purpose=purpose,
            code_hash=_hash(organization_id=organization.pk, target=target, purpose=purpose, code=code),
            expires_at=now + timedelta(seconds=settings.VERIFICATION_CODE_TTL),
        )
        transaction.on_commit(lambda: _deliver(target=target, purpose=purpose, code=code))
    return row


def _deliver(*, target: str, purpose: str, code: str) -> None:
    minutes = max(1, settings.VERIFICATION_CODE_TTL // 60)
    body = f"Your verification code is {code}. It expires in {minutes} minutes. Never share it."
    if is_email(target):
        send_mail(f"Verification code ({purpose})", body, None, [target])
    else:
        sms_send(to=target, body=body)


def _usable(row: VerificationCode | None) -> bool:
    return (
        row is not None
        and row.used_at is None
        and row.expires_at > timezone.now()
        and row.attempts < settings.VERIFICATION_CODE_MAX_ATTEMPTS
    )


def code_check(*, organization_id: int, target: str, purpose: str, code: str | None) -> VerificationCode:
    """Check ``code`` against the latest live code; counts the attempt (committed) either way."""
    target = target_normalize(target)
    with transaction.atomic():
        row = (
            VerificationCode.objects.select_for_update()
            .filter(organization_id=organization_id, target=target, purpose=purpose)
            .order_by("-id")
            .first()
        )
        if row is None or not _usable(row):
            raise CodeInvalid()
        VerificationCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        given = _hash(organization_id=organization_id, target=target, purpose=purpose, code=(code or "").strip())
    if not code or not constant_time_compare(given, row.code_hash):
        raise CodeInvalid()
    return row


def code_consume(row: VerificationCode) -> None:
    """Spend a checked code inside the caller's transaction; a code already spent fails."""
    spent = VerificationCode.objects.filter(pk=row.pk, used_at__isnull=True, expires_at__gt=timezone.now()).update(
        used_at=timezone.now()
    )
    if spent != 1:
        raise CodeInvalid()


@dataclass(frozen=True)
class CodeStatus:
    active: bool
    expires_in: int
    resend_in: int
    attempts_left: int


def code_status(*, organization_id: int, target: str, purpose: str) -> CodeStatus:
    target = target_normalize(target)
    row = _latest(organization_id=organization_id, target=target, purpose=purpose)
    if row is None:
        return CodeStatus(active=False, expires_in=0, resend_in=0, attempts_left=0)
    now = timezone.now()
    resend = row.created_at + timedelta(seconds=settings.VERIFICATION_CODE_RESEND_SECONDS) - now
    active = _usable(row)
    return CodeStatus(
        active=active,
        expires_in=max(0, int((row.expires_at - now).total_seconds())) if active else 0,
        resend_in=max(0, int(resend.total_seconds())),
        attempts_left=max(0, settings.VERIFICATION_CODE_MAX_ATTEMPTS - row.attempts) if active else 0,
    )
