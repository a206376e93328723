"""Finance reads: lists for the User API and the Org API, the admin's views, and the transfer-lock check."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.accounts.models import Account, AccountType, Balance, LedgerTransaction
from apps.core.errors import NotFound
from apps.core.pagination import page_by_id
from apps.finance.models import (
    AccountTransferLock,
    Airdrop,
    AirdropItem,
    BonusGrant,
    CommissionRecord,
    ConvertPair,
    Lockup,
    MappingPair,
    MappingRecord,
    TransferDirection,
)
from apps.users.models import Organization, User

FINANCE_REFERENCE_PREFIX = "fin:"
# Operation name → reference prefix (services build references as ``fin:<operation>:…``).
OPERATIONS = {
    "airdrop": "fin:airdrop:",
    "lock": "fin:lock:",
    "unlock": "fin:unlock:",
    "convert": "fin:convert:",
    "mapping": "fin:mapping:",
    "bonus": "fin:bonus:",
    "bonus_release": "fin:bonus-release:",
    "commission": "fin:commission:",
}


def account_transfer_allowed(*, account: Account, direction: str) -> bool:
    """False when an active staff lock blocks transfers ``direction`` ("in" or "out") of ``account``.

    Transfer services (``apps.accounts.funding.transfer_create``) call this for the source account
    with ``"out"`` and the destination with ``"in"`` and refuse with ``TransferNotAllowed``.
    """
    if direction not in (TransferDirection.IN, TransferDirection.OUT):
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    return not AccountTransferLock.objects.filter(
        account=account, is_active=True, direction__in=[direction, TransferDirection.BOTH]
    ).exists()


def airdrop_get(*, organization: Organization, batch_id: str) -> Airdrop:
    airdrop = Airdrop.objects.filter(organization=organization, batch_id=batch_id).first()
    if airdrop is None:
        raise NotFound(_("Airdrop batch does not exist"))
    return airdrop


def airdrop_items(
    *,
    airdrop: Airdrop,
    status: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
) -> list[AirdropItem]:
    """Per-row results of a batch (the result query), paged by id."""
    queryset = AirdropItem.objects.filter(airdrop=airdrop).select_related("user")
    if status:
        queryset = queryset.filter(status=status)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def lockups_of(
    *,
    user: User,
    status: str | None = None,
    token_id: str | None = None,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
) -> list[Lockup]:
    queryset = Lockup.objects.filter(user=user).select_related("user")
    if status:
        queryset = queryset.filter(status=status)
    if token_id:
        queryset = queryset.filter(token_id=token_id)
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def bonus_grants_of(
    *, user: User, from_id: int | None = None, to_id: int | None = None, limit: int | None = None
) -> list[BonusGrant]:
    return page_by_id(BonusGrant.objects.filter(user=user), from_id=from_id, to_id=to_id, limit=limit)


def commissions_of(
    *, inviter: User, from_id: int | None = None, to_id: int | None = None, limit: int | None = None
) -> list[CommissionRecord]:
    queryset = CommissionRecord.objects.filter(inviter=inviter).select_related("invitee")
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def mappings_of(
    *, user: User, from_id: int | None = None, to_id: int | None = None, limit: int | None = None
) -> list[MappingRecord]:
    queryset = MappingRecord.objects.filter(user=user).select_related("pair")
    return page_by_id(queryset, from_id=from_id, to_id=to_id, limit=limit)


def convert_pairs_offered(*, organization_id: int) -> QuerySet[ConvertPair]:
    return ConvertPair.objects.filter(organization_id=organization_id, is_active=True).order_by("id")


def mapping_pairs_offered(*, organization_id: int) -> QuerySet[MappingPair]:
    return MappingPair.objects.filter(organization_id=organization_id, is_active=True).order_by("id")


def system_balances(*, organization: Organization | None = None) -> QuerySet[Balance]:
    """Balances of the OPERATING and FEE accounts, per token."""
    queryset = Balance.objects.filter(
        account__user__isnull=True, account__type__in=[AccountType.OPERATING, AccountType.FEE]
    ).select_related("account", "account__organization")
    if organization is not None:
        queryset = queryset.filter(account__organization=organization)
    return queryset.order_by("account__organization_id", "account__type", "token_id")


def finance_operations(
    *, organization: Organization | None = None, operation: str | None = None
) -> QuerySet[LedgerTransaction]:
    """Ledger transactions written by finance operations, newest first."""
    prefix = OPERATIONS.get(operation, FINANCE_REFERENCE_PREFIX) if operation else FINANCE_REFERENCE_PREFIX
    queryset = LedgerTransaction.objects.filter(reference__startswith=prefix)
    if organization is not None:
        queryset = queryset.filter(organization=organization)
    return queryset.order_by("-id")


def operation_of(reference: str) -> str:
    """The operation name of a finance reference (``fin:bonus-release:7`` → ``bonus_release``)."""
    for name, prefix in sorted(OPERATIONS.items(), key=lambda item: -len(item[1])):
        if reference.startswith(prefix):
            return name
    return ""
