"""Reads of accounts, balances and statements."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import Account, AccountType, Balance, Posting
from apps.core.pagination import page_by_id
from apps.users.models import User


def user_balances(*, user: User, account_type: str = AccountType.SPOT, index: int = 0) -> QuerySet[Balance]:
    return (
        Balance.objects.filter(account__user=user, account__type=account_type, account__index=index)
        .select_related("token")
        .order_by("token_id")
    )


def user_accounts(*, user: User) -> QuerySet[Account]:
    return Account.objects.filter(user=user).order_by("type", "index")


def balance_flow(
    *,
    user: User,
    token_id: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
) -> list[Posting]:
    """The user's account statement: their postings, paged by id."""
    queryset = Posting.objects.filter(account__user=user).select_related("transaction", "account")
    if token_id:
        queryset = queryset.filter(token_id=token_id)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)
