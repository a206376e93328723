"""Reads of accounts, balances and statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import (
    Account,
    AccountType,
    AddressBookEntry,
    Balance,
    BankCard,
    Deposit,
    FundingKind,
    Posting,
    Transfer,
    Withdrawal,
    WithdrawalStatus,
)
from apps.core.errors import InvalidParameter, WithdrawalNotFound
from apps.core.pagination import page_by_id
from apps.users.models import User

M = TypeVar("M", bound=Model)


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
    account_type: str | None = None,
    account_index: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[Posting]:
    """The user's account statement: their postings (of one account when type/index are given), paged by id."""
    queryset = Posting.objects.filter(account__user=user).select_related("transaction", "account")
    if token_id:
        queryset = queryset.filter(token_id=token_id)
    if account_type is not None:
        queryset = queryset.filter(account__type=account_type)
    if account_index is not None:
        queryset = queryset.filter(account__index=account_index)
    queryset = _created_between(queryset, start_ms, end_ms)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def _created_between(queryset: QuerySet[M], start_ms: int | None, end_ms: int | None) -> QuerySet[M]:
    """Rows created within [start_ms, end_ms] (milliseconds since the epoch; either bound optional)."""
    if start_ms is not None and end_ms is not None and end_ms < start_ms:
        raise InvalidParameter(_("end time is before start time"))
    if start_ms is not None:
        queryset = queryset.filter(created_at__gte=datetime.fromtimestamp(start_ms / 1000, tz=UTC))
    if end_ms is not None:
        queryset = queryset.filter(created_at__lte=datetime.fromtimestamp(end_ms / 1000, tz=UTC))
    return queryset


def deposits_of(
    *,
    user: User,
    token_id: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[Deposit]:
    queryset = Deposit.objects.filter(user=user).select_related("user", "chain")
    if token_id:
        queryset = queryset.filter(token_id=token_id.upper())
    queryset = _created_between(queryset, start_ms, end_ms)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def withdrawals_of(
    *,
    user: User,
    token_id: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[Withdrawal]:
    queryset = Withdrawal.objects.filter(user=user).select_related("user", "chain")
    if token_id:
        queryset = queryset.filter(token_id=token_id.upper())
    queryset = _created_between(queryset, start_ms, end_ms)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def withdrawal_of(*, user: User, withdrawal_id: int | None = None, client_order_id: str | None = None) -> Withdrawal:
    """One of the user's withdrawals, by id or by the client order id it was requested with."""
    queryset = Withdrawal.objects.filter(user=user).select_related("user", "chain")
    if withdrawal_id is not None:
        withdrawal = queryset.filter(pk=withdrawal_id).first()
    elif client_order_id:
        withdrawal = queryset.filter(client_order_id=client_order_id).first()
    else:
        raise InvalidParameter(_("withdrawal_id or client_order_id is required"))
    if withdrawal is None:
        raise WithdrawalNotFound()
    return withdrawal


def transfers_of(
    *,
    user: User,
    token_id: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
) -> list[Transfer]:
    """Transfers the user sent or received."""
    queryset = Transfer.objects.filter(Q(user=user) | Q(to_user=user)).select_related(
        "from_account", "to_account", "to_user", "user"
    )
    if token_id:
        queryset = queryset.filter(token_id=token_id.upper())
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def address_book_of(*, user: User, token_id: str | None = None) -> QuerySet[AddressBookEntry]:
    queryset = AddressBookEntry.objects.filter(user=user).select_related("chain")
    if token_id:
        queryset = queryset.filter(token_id=token_id.upper())
    return queryset.order_by("id")


def bank_cards_of(*, user: User) -> QuerySet[BankCard]:
    return BankCard.objects.filter(user=user, is_active=True).order_by("id")


def withdrawal_address_history(*, withdrawal: Withdrawal) -> QuerySet[Withdrawal]:
    """Earlier withdrawals to the same destination (the reviewer's "address history")."""
    return (
        Withdrawal.objects.filter(token_id=withdrawal.token_id, address=withdrawal.address, memo=withdrawal.memo)
        .exclude(pk=withdrawal.pk)
        .filter(pk__lt=withdrawal.pk)
        .select_related("user")
        .order_by("-pk")
    )


def withdrawals_awaiting_broadcast(*, min_age_seconds: int) -> list[int]:
    """Approved crypto withdrawals not handed to the custodian for ``min_age_seconds`` (oldest first)."""
    cutoff = timezone.now() - timedelta(seconds=min_age_seconds)
    return list(
        Withdrawal.objects.filter(status=WithdrawalStatus.APPROVED, kind=FundingKind.CRYPTO, updated_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
