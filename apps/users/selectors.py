"""Reads on users and their freezes."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from apps.core.errors import InvalidParameter, NotFound
from apps.core.pagination import page_by_id
from apps.users.models import Favorite, FreezeKind, LoginRecord, Organization, User, UserFreeze


def user_freezes_applying(
    *, user: User, kind: str, symbol_id: object = None, token_id: object = None
) -> QuerySet[UserFreeze]:
    """The active freezes of ``kind`` that apply (a freeze without symbol/token applies to all).

    ``symbol_id`` / ``token_id`` may be an ``OuterRef``, so a caller can fold the check into its own
    query (``order_validate`` does, with ``Exists``).
    """
    scope = Q()
    if kind == FreezeKind.TRADE:
        scope = Q(symbol__isnull=True) | Q(symbol_id=symbol_id)
    elif kind == FreezeKind.WITHDRAW:
        scope = Q(token__isnull=True) | Q(token_id=token_id)
    return UserFreeze.objects.filter(scope, user=user, kind=kind, is_active=True)


def user_is_frozen(*, user: User, kind: str, symbol_id: str | None = None, token_id: str | None = None) -> bool:
    """Whether an active freeze of ``kind`` applies (a freeze without symbol/token applies to all)."""
    return user_freezes_applying(user=user, kind=kind, symbol_id=symbol_id, token_id=token_id).exists()


def user_get_by_uid(*, uid: int, organization_id: int | None = None) -> User | None:
    queryset = User.objects.filter(uid=uid)
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    return queryset.select_related("organization").first()


def user_find_by_contact(*, organization_id: int, target: str) -> User | None:
    """The organization's user with this (normalized) email or phone."""
    field = "email" if "@" in target else "phone"
    return User.objects.filter(organization_id=organization_id, **{field: target}).first()


def organization_default() -> Organization | None:
    """Registration and login use the first organization unless the client names one (``org_id``)."""
    return Organization.objects.filter(is_active=True).order_by("pk").first()


def organization_resolve(*, organization_id: int | None) -> Organization:
    if organization_id is None:
        organization = organization_default()
    else:
        organization = Organization.objects.filter(pk=organization_id, is_active=True).first()
    if organization is None:
        raise NotFound(_("Unknown organization"))
    return organization


def login_records(
    *, user: User, from_id: int | None = None, to_id: int | None = None, limit: int | None = None
) -> list[LoginRecord]:
    return page_by_id(LoginRecord.objects.filter(user=user), from_id=from_id, to_id=to_id, limit=limit)


def invitees(
    *, user: User, level: int, from_id: int | None = None, to_id: int | None = None, limit: int | None = None
) -> list[User]:
    """Users the user invited (level 1) or their invitees invited (level 2)."""
    if level == 1:
        queryset = User.objects.filter(invited_by=user)
    elif level == 2:
        queryset = User.objects.filter(invited_by__invited_by=user)
    else:
        raise InvalidParameter(_("level must be 1 or 2"))
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def favorites(*, user: User) -> QuerySet[Favorite]:
    return Favorite.objects.filter(user=user).order_by("id")


def user_freezes_active(*, user: User) -> QuerySet[UserFreeze]:
    return UserFreeze.objects.filter(user=user, is_active=True).order_by("id")
