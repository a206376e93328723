"""Login: password (with django-axes lockout), then a TOTP step when the user bound one.

The HTTP surface keeps the half-logged-in state (user id awaiting TOTP) in the session; these
services decide and record. Every attempt, good or bad, becomes a ``LoginRecord``.
"""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from apps.core.errors import AccountFrozen, LoginLocked, SecondFactorRequired, WrongCredentials, WrongSecondFactor
from apps.events.services import event_emit
from apps.users.models import FreezeKind, LoginRecord, LoginResult, Organization, User
from apps.users.security import totp_device
from apps.users.selectors import user_is_frozen


def _client(request: HttpRequest) -> tuple[str | None, str]:
    ip = request.META.get("REMOTE_ADDR") or None
    return ip, (request.META.get("HTTP_USER_AGENT") or "")[:255]


def login_record(*, request: HttpRequest, account: str, result: str, user: User | None = None) -> LoginRecord:
    ip, agent = _client(request)
    return LoginRecord.objects.create(user=user, account=account[:254], ip=ip, user_agent=agent, result=result)


def login_password_check(*, request: HttpRequest, organization: Organization, account: str, password: str) -> User:
    """Check the password (axes counts failures by username+IP); returns the user, TOTP not yet done."""
    user = authenticate(request, username=account, password=password, organization_id=organization.pk)
    if getattr(request, "axes_locked_out", False):
        login_record(request=request, account=account, result=LoginResult.LOCKED)
        raise LoginLocked()
    if not isinstance(user, User):
        login_record(request=request, account=account, result=LoginResult.WRONG_PASSWORD)
        raise WrongCredentials()
    ip, _agent = _client(request)
    if ip:
        # The password is right: this username+IP starts counting failures afresh.
        axes_reset(ip=ip, username=account)
    if user_is_frozen(user=user, kind=FreezeKind.LOGIN):
        login_record(request=request, account=account, result=LoginResult.FROZEN, user=user)
        raise AccountFrozen(_("Login is frozen for this account; contact support"))
    if totp_device(user) is not None:
        login_record(request=request, account=account, result=LoginResult.TOTP_REQUIRED, user=user)
    return user


def login_needs_totp(user: User) -> bool:
    return totp_device(user) is not None


def login_totp_check(*, request: HttpRequest, user: User, code: str | None) -> None:
    device = totp_device(user)
    if device is None:
        raise SecondFactorRequired()
    if not code or not device.verify_token(code.strip()):
        login_record(request=request, account=user.email or user.phone, result=LoginResult.WRONG_TOTP, user=user)
        raise WrongSecondFactor()


def login_succeeded(*, request: HttpRequest, user: User) -> None:
    """Record the login and emit ``user.login`` (the caller then calls Django's ``login``)."""
    if user_is_frozen(user=user, kind=FreezeKind.LOGIN):
        raise AccountFrozen(_("Login is frozen for this account; contact support"))
    ip, agent = _client(request)
    with transaction.atomic():
        login_record(request=request, account=user.email or user.phone, result=LoginResult.SUCCESS, user=user)
        event_emit(
            type="user.login",
            organization_id=user.organization_id,
            user=user,
            payload={"uid": str(user.uid), "ip": ip or "", "user_agent": agent},
        )
