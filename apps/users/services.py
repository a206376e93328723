"""Writes on organizations and users."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from apps.accounts.services import organization_open_system_accounts, user_open_accounts
from apps.core.errors import Conflict, InvalidParameter
from apps.events.services import event_emit
from apps.users.models import Organization, User

UID_MIN = 10**15
UID_MAX = 10**16 - 1


def organization_create(*, name: str) -> Organization:
    name = name.strip()
    if not name:
        raise InvalidParameter("Organization name is required")
    with transaction.atomic():
        try:
            with transaction.atomic():
                organization = Organization.objects.create(name=name)
        except IntegrityError:
            raise Conflict(f"An organization named {name!r} already exists") from None
        organization_open_system_accounts(organization=organization)
    return organization


def _new_uid() -> int:
    return UID_MIN + secrets.randbelow(UID_MAX - UID_MIN)


def user_create(
    *,
    organization: Organization,
    email: str = "",
    phone: str = "",
    password: str | None,
    kyc_level: int = 0,
    language: str = "en",
) -> User:
    """Register an end user of ``organization`` and open their SPOT and FUNDING accounts."""
    email = email.strip().lower()
    phone = phone.strip()
    if not email and not phone:
        raise InvalidParameter("An email or a phone number is required")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidParameter(f"Invalid email address: {email!r}") from None
    if not 0 <= kyc_level <= 3:
        raise InvalidParameter("kyc_level must be 0–3")
    if password is not None:
        try:
            validate_password(password)
        except ValidationError as exc:
            raise InvalidParameter("; ".join(exc.messages)) from None
    with transaction.atomic():
        if email and User.objects.filter(organization=organization, email=email).exists():
            raise Conflict("This email is already registered")
        if phone and User.objects.filter(organization=organization, phone=phone).exists():
            raise Conflict("This phone number is already registered")
        for _ in range(5):
            uid = _new_uid()
            try:
                with transaction.atomic():
                    user = User(
                        username=f"u{uid}",
                        uid=uid,
                        organization=organization,
                        email=email,
                        phone=phone,
                        kyc_level=kyc_level,
                        language=language,
                    )
                    if password is None:
                        user.set_unusable_password()
                    else:
                        user.set_password(password)
                    user.save(force_insert=True)
                break
            except IntegrityError as exc:
                if "uid" not in str(exc) and "username" not in str(exc):
                    raise Conflict("This email or phone number is already registered") from None
        else:  # pragma: no cover - five 1-in-10^15 collisions in a row
            raise Conflict("Could not allocate a user id")
        user_open_accounts(user=user)
        event_emit(
            type="user.register",
            organization_id=organization.pk,
            user=user,
            payload={"uid": str(user.uid), "email": email, "phone": phone},
        )
    return user
