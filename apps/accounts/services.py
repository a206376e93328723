"""Account writes: opening accounts and manual credits. Every balance change goes through ``ledger_post``."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.accounts.ledger import Leg, ledger_post
from apps.accounts.models import SYSTEM_ACCOUNT_TYPES, Account, AccountType, Bucket, LedgerTransaction, TransactionKind
from apps.core.errors import InvalidAmount, InvalidParameter, UnknownToken
from apps.core.money import check_storable, money_context, to_decimal
from apps.tokens.models import Token
from apps.users.models import Organization, User


def _get_or_create_account(**lookup: object) -> Account:
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(**lookup)
    except IntegrityError:
        return Account.objects.get(**lookup)


def system_account(*, organization_id: int, type: str) -> Account:
    """The organization's CUSTODY / FEE / OPERATING account, opened on first use."""
    if type not in SYSTEM_ACCOUNT_TYPES:
        raise InvalidParameter(_("%(type)r is not a system account type") % {"type": type})
    return _get_or_create_account(
        organization_id=organization_id,
        user=None,
        type=type,
        index=0,
        allow_negative=type == AccountType.CUSTODY,
    )


def organization_open_system_accounts(*, organization: Organization) -> list[Account]:
    return [system_account(organization_id=organization.pk, type=t) for t in SYSTEM_ACCOUNT_TYPES]


def user_account(*, user: User, type: str = AccountType.SPOT, index: int = 0) -> Account:
    """A user's SPOT (index 0 = main) or FUNDING account, opened on first use."""
    if type not in (AccountType.SPOT, AccountType.FUNDING):
        raise InvalidParameter(_("%(type)r is not a user account type") % {"type": type})
    if user.organization_id is None:
        raise InvalidParameter(_("Staff users without an organization have no accounts"))
    return _get_or_create_account(organization_id=user.organization_id, user=user, type=type, index=index)


def user_open_accounts(*, user: User) -> list[Account]:
    return [user_account(user=user, type=AccountType.SPOT), user_account(user=user, type=AccountType.FUNDING)]


def positive_amount(value: object, *, token: Token, field: str = "amount") -> Decimal:
    """Parse a client-given amount that must be > 0 and fit the token's precision."""
    amount = to_decimal(value, field=field)
    with money_context():
        if amount <= 0:
            raise InvalidAmount(_("%(field)s must be greater than zero") % {"field": field})
        if amount != amount.quantize(Decimal(1).scaleb(-token.precision)):
            raise InvalidAmount(
                _("%(field)s: %(token)s allows at most %(precision)s decimal places")
                % {"field": field, "token": token.pk, "precision": token.precision}
            )
    return check_storable(amount, field=field)


def manual_credit(
    *,
    token_id: str,
    amount: object,
    reason: str,
    user: User | None = None,
    account_type: str = AccountType.SPOT,
    organization: Organization | None = None,
    acting_user: User | None = None,
    idempotency_key: str | None = None,
) -> LedgerTransaction:
    """A manual deposit: the organization's CUSTODY account → a user's account, or → its OPERATING account."""
    token = Token.objects.filter(pk=token_id).first()
    if token is None:
        raise UnknownToken(_("Unknown token: %(token)s") % {"token": token_id})
    value = positive_amount(amount, token=token)
    if not reason.strip():
        raise InvalidParameter(_("A reason is required"))
    if user is not None:
        target = user_account(user=user, type=account_type)
        org_id = user.organization_id
    elif organization is not None:
        target = system_account(organization_id=organization.pk, type=AccountType.OPERATING)
        org_id = organization.pk
    else:
        raise InvalidParameter(_("Credit a user or an organization's operating account"))
    assert org_id is not None
    custody = system_account(organization_id=org_id, type=AccountType.CUSTODY)
    return ledger_post(
        kind=TransactionKind.MANUAL_CREDIT,
        organization_id=org_id,
        legs=[
            Leg(custody.pk, token.pk, Bucket.AVAILABLE, -value),
            Leg(target.pk, token.pk, Bucket.AVAILABLE, value),
        ],
        reference=f"account:{target.pk}",
        idempotency_key=idempotency_key,
        memo=reason,
        acting_user_id=acting_user.pk if acting_user else None,
    )
