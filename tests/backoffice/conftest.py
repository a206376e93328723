"""Fixtures of the back-office tests: staff in a role with a TOTP device, and the admin's TOTP step on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.backoffice.services import staff_create
from apps.users.models import User
from tests.accounts.test_funding_fixtures import funding_tokens, withdrawer  # noqa: F401 - fixtures


@dataclass
class Staff:
    user: User
    password: str
    totp_uri: str


def totp_now(user: User) -> str:
    """The current six-digit code of the user's device (what the authenticator app shows)."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def throttle_reset(user: User) -> None:
    """Lift django-otp's back-off after a wrong code (else the next try within seconds is refused)."""
    TOTPDevice.objects.get(user=user, confirmed=True).throttle_reset()


@pytest.fixture
def otp_on(settings: Any) -> None:
    settings.BACKOFFICE_ADMIN_OTP = True


@pytest.fixture
def make_staff_member(db: Any) -> Callable[..., Staff]:
    """A staff member created as ``manage.py create_staff`` does, in the role ``group``."""
    counter = {"n": 0}

    def make(group: str, username: str | None = None) -> Staff:
        counter["n"] += 1
        login = staff_create(username=username or f"{group}-{counter['n']}", group=group)
        return Staff(User.objects.get(username=login.username), login.password, login.totp_uri)

    return make


def sign_in(client: Client, staff: Staff, code: str | None = None) -> Any:
    """Post the admin login form (username, password, TOTP code)."""
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": staff.user.username, "password": staff.password, "otp_token": code or totp_now(staff.user)},
    )
