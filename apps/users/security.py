"""Second factors a sensitive operation checks: the fund password and TOTP (django-otp).

TOTP replay protection is django-otp's: a ``TOTPDevice`` remembers the last time step it accepted
and refuses that code again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.core.errors import (
    CodeInvalid,
    Conflict,
    FundPasswordRequired,
    InvalidParameter,
    SecondFactorRequired,
    VerificationRequired,
    WrongFundPassword,
    WrongSecondFactor,
)
from apps.events.services import event_emit
from apps.users.models import CodePurpose, Organization, SecurityRecord, User, VerificationCode
from apps.users.selectors import user_find_by_contact
from apps.users.verification import code_check, code_consume, contact_name, is_email, target_normalize


def fund_password_validate(*, user: User, password: str) -> None:
    if password == "" or user.check_password(password):
        raise InvalidParameter(_("The fund password must differ from the login password"))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidParameter("; ".join(exc.messages)) from None


def fund_password_set(*, user: User, password: str) -> None:
    fund_password_validate(user=user, password=password)
    user.fund_password = make_password(password)
    user.save(update_fields=["fund_password"])


def fund_password_verify(*, user: User, password: str | None) -> None:
    if not user.fund_password:
        raise FundPasswordRequired()
    if not password or not check_password(password, user.fund_password):
        raise WrongFundPassword()


def totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def totp_verify(*, user: User, code: str | None) -> None:
    """Check a TOTP code of the user's confirmed device; a code is accepted once."""
    device = totp_device(user)
    if device is None:
        raise SecondFactorRequired()
    if not code or not device.verify_token(code.strip()):
        raise WrongSecondFactor()


# --- sensitive changes (DESIGN.md §12) ------------------------------------------------------------
# Each change below asks for the second factor the user has: their TOTP code when they bound Google
# Authenticator, otherwise a SECURITY code sent to their email or phone. Codes are checked (attempt
# counted) before the change's transaction and spent inside it, so a failed change spends nothing.


@dataclass(frozen=True)
class Factors:
    totp_code: str | None = None
    email_code: str | None = None
    sms_code: str | None = None


def second_factor_check(*, user: User, factors: Factors) -> list[VerificationCode]:
    """Verify the user's second factor; returns the codes to spend with the change."""
    if totp_device(user) is not None:
        if not factors.totp_code:
            raise SecondFactorRequired(_("Enter your Google Authenticator code"))
        totp_verify(user=user, code=factors.totp_code)
        return []
    assert user.organization_id is not None
    if factors.email_code and user.email:
        return [
            code_check(
                organization_id=user.organization_id,
                target=user.email,
                purpose=CodePurpose.SECURITY,
                code=factors.email_code,
            )
        ]
    if factors.sms_code and user.phone:
        return [
            code_check(
                organization_id=user.organization_id,
                target=user.phone,
                purpose=CodePurpose.SECURITY,
                code=factors.sms_code,
            )
        ]
    raise SecondFactorRequired(_("Enter a verification code sent to your email or phone"))


def security_record(*, user: User, action: str, acting_user: User | None = None, **detail: Any) -> None:
    """Audit row plus outbox event; call inside the change's transaction."""
    SecurityRecord.objects.create(user=user, action=action, acting_user=acting_user, detail=detail)
    event_type = "user.password.changed" if action in ("password_change", "password_reset") else "user.security.changed"
    event_emit(
        type=event_type,
        organization_id=user.organization_id,
        user=user,
        payload={"uid": str(user.uid), "action": action, "by_staff": acting_user is not None},
    )


def _spend(codes: list[VerificationCode]) -> None:
    for row in codes:
        code_consume(row)


def _validate_login_password(user: User, password: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidParameter("; ".join(exc.messages)) from None


def password_change(*, user: User, old_password: str | None, new_password: str, factors: Factors) -> None:
    """Set (no usable password yet) or change the login password."""
    if user.has_usable_password() and not (old_password and user.check_password(old_password)):
        raise InvalidParameter(_("The current password is wrong"))
    _validate_login_password(user, new_password)
    codes = second_factor_check(user=user, factors=factors)
    with transaction.atomic():
        _spend(codes)
        action = "password_change" if user.has_usable_password() else "password_set"
        user.set_password(new_password)
        user.save(update_fields=["password"])
        security_record(user=user, action=action)


def password_reset(
    *, organization: Organization, target: str, code: str, new_password: str, totp_code: str | None
) -> User:
    """Forgot password: a RESET_PASSWORD code sent to the account's email or phone (+ TOTP if bound)."""
    target = target_normalize(target)
    user = user_find_by_contact(organization_id=organization.pk, target=target)
    row = code_check(organization_id=organization.pk, target=target, purpose=CodePurpose.RESET_PASSWORD, code=code)
    if user is None:  # pragma: no cover - a code is only sent to registered contacts
        raise CodeInvalid()
    _validate_login_password(user, new_password)
    if totp_device(user) is not None:
        if not totp_code:
            raise SecondFactorRequired(_("Enter your Google Authenticator code"))
        totp_verify(user=user, code=totp_code)
    with transaction.atomic():
        code_consume(row)
        user.set_password(new_password)
        user.save(update_fields=["password"])
        security_record(user=user, action="password_reset")
    return user


def fund_password_change(*, user: User, password: str, old_password: str | None, factors: Factors) -> None:
    """Set the first fund password, or change it (the old one is required then)."""
    changing = bool(user.fund_password)
    if changing:
        fund_password_verify(user=user, password=old_password)
    fund_password_validate(user=user, password=password)
    codes = second_factor_check(user=user, factors=factors)
    with transaction.atomic():
        _spend(codes)
        fund_password_set(user=user, password=password)
        security_record(user=user, action="fund_password_change" if changing else "fund_password_set")


def fund_password_reset(*, user: User, password: str, target: str, code: str, totp_code: str | None) -> None:
    """Forgot fund password: a RESET_FUND_PASSWORD code to the user's own email/phone (+ TOTP if bound)."""
    target = target_normalize(target)
    if target not in (user.email, user.phone):
        raise InvalidParameter(_("Use your own email or phone number"))
    assert user.organization_id is not None
    fund_password_validate(user=user, password=password)
    row = code_check(
        organization_id=user.organization_id, target=target, purpose=CodePurpose.RESET_FUND_PASSWORD, code=code
    )
    if totp_device(user) is not None:
        if not totp_code:
            raise SecondFactorRequired(_("Enter your Google Authenticator code"))
        totp_verify(user=user, code=totp_code)
    with transaction.atomic():
        code_consume(row)
        fund_password_set(user=user, password=password)
        security_record(user=user, action="fund_password_reset")


def contact_bind(*, user: User, target: str, new_code: str, old_code: str | None = None, factors: Factors) -> None:
    """Bind an email or phone, or change the current one (both old and new must be verified)."""
    target = target_normalize(target)
    field = "email" if is_email(target) else "phone"
    current = getattr(user, field)
    assert user.organization_id is not None
    if target == current:
        raise InvalidParameter(_("This %(field)s is already yours") % {"field": contact_name(field)})
    if user_find_by_contact(organization_id=user.organization_id, target=target) is not None:
        raise Conflict(_("This %(field)s is already registered") % {"field": contact_name(field)})
    codes = [code_check(organization_id=user.organization_id, target=target, purpose=CodePurpose.BIND, code=new_code)]
    if current:
        if not old_code:
            raise VerificationRequired(_("Verify your current %(field)s too") % {"field": contact_name(field)})
        codes.append(
            code_check(
                organization_id=user.organization_id, target=current, purpose=CodePurpose.SECURITY, code=old_code
            )
        )
    if totp_device(user) is not None or not current:
        # The old address's code is the second factor unless the user has a stronger one.
        codes += second_factor_check(user=user, factors=factors)
    with transaction.atomic():
        _spend(codes)
        setattr(user, field, target)
        try:
            with transaction.atomic():
                user.save(update_fields=[field])
        except IntegrityError:
            raise Conflict(_("This %(field)s is already registered") % {"field": contact_name(field)}) from None
        security_record(user=user, action=f"{field}_change" if current else f"{field}_bind")


def contact_unbind(*, user: User, field: str, factors: Factors) -> None:
    """Remove the email or phone; the account keeps at least one of them."""
    if field not in ("email", "phone"):
        raise InvalidParameter(_("field must be email or phone"))
    other = "phone" if field == "email" else "email"
    if not getattr(user, field):
        raise InvalidParameter(_("No %(field)s is bound") % {"field": contact_name(field)})
    if not getattr(user, other):
        raise InvalidParameter(
            _("Bind a %(other)s before removing your %(field)s")
            % {"other": contact_name(other), "field": contact_name(field)}
        )
    codes = second_factor_check(user=user, factors=factors)
    with transaction.atomic():
        _spend(codes)
        setattr(user, field, "")
        user.save(update_fields=[field])
        security_record(user=user, action=f"{field}_unbind")


def totp_setup(*, user: User) -> tuple[TOTPDevice, str]:
    """Start binding Google Authenticator: a new unconfirmed device, its secret and otpauth URL."""
    if totp_device(user) is not None:
        raise Conflict(_("Google Authenticator is already bound"))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="Google Authenticator", confirmed=False)
    return device, device.config_url


def totp_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode()


def totp_qr_svg(url: str) -> str:
    """The otpauth URL as an SVG QR code data URI, for the web page to show."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def totp_bind(*, user: User, code: str, factors: Factors) -> None:
    """Confirm the device from ``totp_setup`` with a code it shows, plus an email/SMS code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise InvalidParameter(_("Start with the setup step"))
    codes = second_factor_check(user=user, factors=factors)
    if not code or not device.verify_token(code.strip()):
        raise WrongSecondFactor()
    with transaction.atomic():
        _spend(codes)
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        security_record(user=user, action="totp_bind")


def totp_unbind(*, user: User, factors: Factors) -> None:
    if totp_device(user) is None:
        raise InvalidParameter(_("Google Authenticator is not bound"))
    second_factor_check(user=user, factors=factors)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        security_record(user=user, action="totp_unbind")


def totp_reset(*, user: User, acting_user: User, reason: str) -> None:
    """Staff: remove a user's Google Authenticator (lost phone), audited with who and why."""
    if not reason.strip():
        raise InvalidParameter(_("A reason is required"))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        security_record(user=user, action="totp_reset", acting_user=acting_user, reason=reason.strip())
