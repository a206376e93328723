"""Second factors a sensitive operation checks: the fund password and TOTP (django-otp).

TOTP replay protection is django-otp's: a ``TOTPDevice`` remembers the last time step it accepted
and refuses that code again.
"""

from __future__ import annotations

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.core.errors import (
    FundPasswordRequired,
    InvalidParameter,
    SecondFactorRequired,
    WrongFundPassword,
    WrongSecondFactor,
)
from apps.users.models import User


def fund_password_set(*, user: User, password: str) -> None:
    if password == "" or user.check_password(password):
        raise InvalidParameter("The fund password must differ from the login password")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidParameter("; ".join(exc.messages)) from None
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
