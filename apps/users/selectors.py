"""Reads on users and their freezes."""

from __future__ import annotations

from django.db.models import Q

from apps.users.models import FreezeKind, User, UserFreeze


def user_is_frozen(*, user: User, kind: str, symbol_id: str | None = None, token_id: str | None = None) -> bool:
    """Whether an active freeze of ``kind`` applies (a freeze without symbol/token applies to all)."""
    scope = Q()
    if kind == FreezeKind.TRADE:
        scope = Q(symbol__isnull=True) | Q(symbol_id=symbol_id)
    elif kind == FreezeKind.WITHDRAW:
        scope = Q(token__isnull=True) | Q(token_id=token_id)
    return UserFreeze.objects.filter(scope, user=user, kind=kind, is_active=True).exists()


def user_get_by_uid(*, uid: int, organization_id: int | None = None) -> User | None:
    queryset = User.objects.filter(uid=uid)
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    return queryset.select_related("organization").first()
