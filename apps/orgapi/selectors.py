"""Reads the Org API needs that the domain selectors do not offer (all scoped to one organization).

Kept here rather than in each domain app because they exist only for this surface: the catalog's
last-change times (from django-simple-history), organization-wide freeze lists, time-ranged login
history, and the owner lookups behind the cross-organization audit log.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max

from apps.accounts.models import Account
from apps.core.pagination import page_by_id
from apps.events.models import Webhook
from apps.finance.models import Lockup
from apps.kyc.models import KycApplication, KycState
from apps.orgapi.params import ms_to_datetime
from apps.tokens.models import Symbol, Token
from apps.trading.models import Order
from apps.users.models import LoginRecord, Organization, User, UserFreeze


def catalog_updated_at(model: type[Token] | type[Symbol]) -> dict[str, datetime]:
    """Last change of each listed token / symbol (its newest history row)."""
    rows = model.history.values("id").annotate(last=Max("history_date"))  # type: ignore[attr-defined]
    return {row["id"]: row["last"] for row in rows}


def user_accounts(*, user: User) -> dict[str, int]:
    """Ids of the user's main SPOT and FUNDING accounts."""
    accounts: dict[str, int] = {}
    for pk, account_type in Account.objects.filter(user=user, index=0).values_list("pk", "type"):
        accounts[account_type] = pk
    return accounts


def user_accounts_all(*, user: User) -> list[Account]:
    return list(Account.objects.filter(user=user).order_by("type", "index"))


def frozen_users(
    *,
    organization: Organization,
    kind: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
) -> list[UserFreeze]:
    """Active freezes of the organization's users, paged by id."""
    queryset = UserFreeze.objects.filter(user__organization=organization, is_active=True).select_related("user")
    if kind:
        queryset = queryset.filter(kind=kind)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def active_freezes(
    *, user: User, kind: str, symbol_id: str | None = None, token_id: str | None = None
) -> list[UserFreeze]:
    """The user's active freezes of ``kind`` on exactly this scope (all symbols/tokens when None)."""
    return list(UserFreeze.objects.filter(user=user, kind=kind, is_active=True, symbol_id=symbol_id, token_id=token_id))


def login_history(
    *,
    user: User,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[LoginRecord]:
    queryset = LoginRecord.objects.filter(user=user)
    if start_ms is not None:
        queryset = queryset.filter(created_at__gte=ms_to_datetime(start_ms))
    if end_ms is not None:
        queryset = queryset.filter(created_at__lte=ms_to_datetime(end_ms))
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def kyc_application_pending(*, user: User) -> KycApplication | None:
    return KycApplication.objects.filter(user=user, state=KycState.SUBMITTED).first()


# --- owners, for the cross-organization audit log ---------------------------------------------------
def uid_owner(uid: int) -> int | None:
    return User.objects.filter(uid=uid).values_list("organization_id", flat=True).first()


def order_owner(order_id: int) -> int | None:
    return Order.objects.filter(pk=order_id).values_list("organization_id", flat=True).first()


def lockup_user(lockup_id: int) -> int | None:
    return Lockup.objects.filter(pk=lockup_id).values_list("user_id", flat=True).first()


def lockup_owner(lockup_id: int) -> int | None:
    return Lockup.objects.filter(pk=lockup_id).values_list("organization_id", flat=True).first()


def webhook_owner(webhook_id: int) -> int | None:
    return Webhook.objects.filter(pk=webhook_id).values_list("organization_id", flat=True).first()
