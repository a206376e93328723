"""Back-office writes: staff accounts with TOTP, and the daily statistics tables."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.backoffice.models import DailySymbolStatistics, DailyTokenStatistics, DailyUserStatistics
from apps.backoffice.roles import role_find, roles_sync
from apps.backoffice.selectors import statistics_compute_day
from apps.core.errors import Conflict, InvalidParameter
from apps.users.models import Organization, User
from apps.users.security import totp_secret

STAFF_DEVICE_NAME = "Back office"


@dataclass(frozen=True)
class StaffLogin:
    username: str
    password: str
    totp_uri: str
    totp_secret: str


def staff_totp_device(*, user: User) -> tuple[TOTPDevice, bool]:
    """The staff member's confirmed TOTP device for the admin sign-in; created when missing."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        if device is not None:
            return device, False
        return TOTPDevice.objects.create(user=user, name=STAFF_DEVICE_NAME, confirmed=True), True


def staff_create(*, username: str, group: str, email: str = "", acting_user: User | None = None) -> StaffLogin:
    """A staff member in one role, with a random password and a TOTP device (both shown once)."""
    username = username.strip()
    if not username:
        raise InvalidParameter(_("A username is required"))
    role = role_find(group)
    if role is None:
        raise InvalidParameter(_("Unknown group %(group)r") % {"group": group})
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(_("A user named %(username)r already exists") % {"username": username})
        if not Group.objects.filter(name=role.name).exists():
            roles_sync()
        user = User.objects.create_user(username=username, email=email, password=password, is_staff=True)
        user._change_reason = f"create_staff {role.name}" + (f" by {acting_user}" if acting_user else "")  # type: ignore[attr-defined]
        user.groups.add(Group.objects.get(name=role.name))
        device, _created = staff_totp_device(user=user)
    return StaffLogin(username=username, password=password, totp_uri=device.config_url, totp_secret=totp_secret(device))


def staff_login_dict(login: StaffLogin) -> dict[str, str]:
    return asdict(login)


def statistics_day_store(*, day: date) -> int:
    """Recompute one UTC day's statistics for the exchange and every organization; returns rows written."""
    organization_ids: list[int | None] = [None, *Organization.objects.order_by("pk").values_list("pk", flat=True)]
    written = 0
    with transaction.atomic():
        for organization_id in organization_ids:
            users, tokens, symbols = statistics_compute_day(day=day, organization_id=organization_id)
            same = Q(day=day) & (
                Q(organization__isnull=True) if organization_id is None else Q(organization_id=organization_id)
            )
            DailyUserStatistics.objects.filter(same).delete()
            DailyTokenStatistics.objects.filter(same).delete()
            DailySymbolStatistics.objects.filter(same).delete()
            user_row = asdict(users)
            user_row.pop("time")
            DailyUserStatistics.objects.create(day=day, organization_id=organization_id, **user_row)
            token_rows = [
                DailyTokenStatistics(day=day, organization_id=organization_id, **_without_time(asdict(r)))
                for r in tokens
            ]
            symbol_rows = [
                DailySymbolStatistics(day=day, organization_id=organization_id, **_without_time(asdict(r)))
                for r in symbols
            ]
            DailyTokenStatistics.objects.bulk_create(token_rows)
            DailySymbolStatistics.objects.bulk_create(symbol_rows)
            written += 1 + len(token_rows) + len(symbol_rows)
    return written


def _without_time(row: dict[str, object]) -> dict[str, object]:
    row.pop("time")
    return row


def statistics_refresh(*, days: int = 2) -> int:
    """Recompute today and the ``days - 1`` days before it (what the periodic task runs)."""
    today = timezone.now().date()
    return sum(statistics_day_store(day=today - timedelta(days=n)) for n in range(days))
