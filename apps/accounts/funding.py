"""Funding services (DESIGN.md §7): deposit addresses, deposits, withdrawals, transfers, address book.

Money flow — every change through ``ledger_post`` with an idempotency key:

* **Deposit credited**: CUSTODY ``available`` −x → user SPOT#0 ``available`` +x, key ``deposit:<id>``.
  A deposit under the token's ``min_deposit`` is recorded as ``below_minimum`` and never posted.
* **Withdrawal requested**: user ``available`` −amount → user ``hold`` +amount (``withdrawal:<id>:hold``).
  The funds stay on hold through review, approval and broadcast: they leave the user only when the
  custodian reports the withdrawal done. Then hold −amount → CUSTODY +(amount − fee) and FEE +fee
  (``withdrawal:<id>:complete``). Rejected, canceled and failed withdrawals release the hold back
  to ``available`` (``withdrawal:<id>:release``). Each terminal posting happens once: the state
  change and its posting share one transaction under the withdrawal's row lock, and the keys make a
  replay a no-op.
* **Transfer**: one posting between two accounts (``transfer:<user>:<client id>``).

Every state change writes a ``FundingAudit`` row (with the acting staff member where one acts) and an
outbox event (``deposit.credited``, ``withdrawal.requested``, ``withdrawal.updated``); custodian
calls and tasks are queued with ``transaction.on_commit``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from apps.accounts.custody import get_gateway
from apps.accounts.ledger import Leg, ledger_post
from apps.accounts.models import (
    WITHDRAWAL_COUNTED_STATUSES,
    Account,
    AccountType,
    AddressBookEntry,
    BankCard,
    Bucket,
    Deposit,
    DepositAddress,
    DepositStatus,
    FundingAudit,
    FundingKind,
    TransactionKind,
    Transfer,
    Withdrawal,
    WithdrawalApproval,
    WithdrawalLimit,
    WithdrawalStatus,
)
from apps.accounts.services import positive_amount, system_account, user_account
from apps.core.errors import (
    AmountBelowMinimum,
    Conflict,
    CustodyRejected,
    DepositDisabled,
    DepositNotFound,
    InvalidAddress,
    InvalidParameter,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    TransferNotAllowed,
    UnknownAccount,
    UnknownChain,
    UnknownToken,
    UserNotFound,
    WithdrawalNotFound,
    WithdrawDisabled,
    WithdrawFrozen,
    WithdrawLimitExceeded,
)
from apps.core.idempotency import create_once
from apps.core.locks import parent_row_lock
from apps.core.money import ZERO, fmt, money_context
from apps.events.services import event_emit
from apps.tokens.models import ChainNetwork, Token
from apps.users.models import FreezeKind, User
from apps.users.security import fund_password_verify, totp_verify
from apps.users.selectors import user_is_frozen

CLIENT_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,64}$")
APPROVE_PERMISSION = "accounts.approve_withdrawal"
PAYOUT_PERMISSION = "accounts.payout_withdrawal"
FIAT_DEPOSIT_PERMISSION = "accounts.confirm_fiat_deposit"


# --- lookups ------------------------------------------------------------------------------------
def _token(token_id: str) -> Token:
    token = Token.objects.filter(pk=(token_id or "").upper(), is_listed=True).first()
    if token is None:
        raise UnknownToken(_("Unknown token: %(token)s") % {"token": token_id})
    return token


def _chain(token: Token, chain: str | None) -> ChainNetwork:
    """The token's chain named ``chain``; without a name, its only chain."""
    chains = list(ChainNetwork.objects.filter(token=token))
    if chain:
        for network in chains:
            if network.chain.lower() == chain.lower():
                return network
        raise UnknownChain(_("%(token)s has no chain %(chain)r") % {"token": token.pk, "chain": chain})
    if len(chains) == 1:
        return chains[0]
    if not chains:
        raise UnknownChain(_("%(token)s has no chain network") % {"token": token.pk})
    raise UnknownChain(
        _("%(token)s moves on several chains (%(chains)s): name one")
        % {"token": token.pk, "chains": ", ".join(c.chain for c in chains)}
    )


def _client_id(value: str | None) -> str:
    if not value:
        return ""
    if not CLIENT_ID.match(value):
        raise InvalidParameter(_("client_order_id: 1–64 letters, digits or _-.:"))
    return value


def _audit(
    action: str,
    *,
    actor: User | None,
    deposit: Deposit | None = None,
    withdrawal: Withdrawal | None = None,
    **detail: Any,
) -> None:
    FundingAudit.objects.create(actor=actor, action=action, deposit=deposit, withdrawal=withdrawal, detail=detail)


def _require_perm(user: User | None, perm: str) -> User:
    if user is None or not user.is_active or not user.is_staff or not user.has_perm(perm):
        raise PermissionDenied(_("Needs the %(perm)s permission") % {"perm": perm})
    return user


# --- payloads (what APIs and events show) -------------------------------------------------------
def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def deposit_payload(deposit: Deposit) -> dict[str, Any]:
    return {
        "deposit_id": str(deposit.pk),
        "uid": str(deposit.user.uid) if deposit.user.uid else "",
        "token": deposit.token_id,
        "kind": deposit.kind,
        "chain": deposit.chain.chain if deposit.chain else "",
        "address": deposit.address,
        "memo": deposit.memo,
        "txid": deposit.txid,
        "output_index": deposit.output_index,
        "bank_reference": deposit.bank_reference,
        "amount": fmt(deposit.amount),
        "confirmations": deposit.confirmations,
        "confirmations_required": deposit.confirmations_required,
        "status": deposit.status,
        "created_at": _ms(deposit.created_at),
        "credited_at": _ms(deposit.credited_at),
    }


def withdrawal_payload(withdrawal: Withdrawal) -> dict[str, Any]:
    return {
        "withdrawal_id": str(withdrawal.pk),
        "client_order_id": withdrawal.client_order_id,
        "uid": str(withdrawal.user.uid) if withdrawal.user.uid else "",
        "token": withdrawal.token_id,
        "kind": withdrawal.kind,
        "chain": withdrawal.chain.chain if withdrawal.chain else "",
        "address": withdrawal.address,
        "memo": withdrawal.memo,
        "bank_card_id": str(withdrawal.bank_card_id) if withdrawal.bank_card_id else "",
        "amount": fmt(withdrawal.amount),
        "fee": fmt(withdrawal.fee),
        "arrival_amount": fmt(withdrawal.arrival_amount),
        "status": withdrawal.status,
        "txid": withdrawal.txid,
        "reason": withdrawal.reason,
        "created_at": _ms(withdrawal.created_at),
        "updated_at": _ms(withdrawal.updated_at),
    }


# --- deposit addresses --------------------------------------------------------------------------
def deposit_address_get(*, user: User, token_id: str, chain: str | None = None) -> DepositAddress:
    """The user's address for ``token`` on ``chain``: issued by the custody gateway on first request, then stable."""
    token = _token(token_id)
    network = _chain(token, chain)
    if not token.deposit_enabled or not network.deposit_enabled:
        raise DepositDisabled(
            _("Deposits of %(token)s on %(chain)s are suspended") % {"token": token.pk, "chain": network.chain}
        )
    organization_id = user.organization_id
    if organization_id is None:
        raise InvalidParameter(_("Staff users without an organization cannot deposit"))
    existing = DepositAddress.objects.filter(user=user, chain=network).first()
    if existing is not None:
        return existing
    # The custodian is asked outside any transaction; if two first requests race, the unique
    # (user, chain) key keeps the first address and the other issued one is never shown.
    issued = get_gateway().new_address(user=user, chain=network)
    with transaction.atomic():
        row, _created = create_once(
            DepositAddress,
            lookup={"user": user, "chain": network},
            create=lambda: DepositAddress.objects.create(
                organization_id=organization_id,
                user=user,
                token=token,
                chain=network,
                address=issued.address,
                memo=issued.memo,
            ),
        )
    return row


# --- deposits -----------------------------------------------------------------------------------
def _deposit_credit(deposit: Deposit) -> None:
    """Post CUSTODY → user for a locked, confirmed deposit (caller holds the row lock)."""
    custody = system_account(organization_id=deposit.organization_id, type=AccountType.CUSTODY)
    target = user_account(user=deposit.user, type=AccountType.SPOT)
    ledger_tx = ledger_post(
        kind=TransactionKind.DEPOSIT,
        organization_id=deposit.organization_id,
        legs=[
            Leg(custody.pk, deposit.token_id, Bucket.AVAILABLE, -deposit.amount),
            Leg(target.pk, deposit.token_id, Bucket.AVAILABLE, deposit.amount),
        ],
        reference=f"deposit:{deposit.pk}",
        idempotency_key=f"deposit:{deposit.pk}",
        memo=f"deposit {deposit.txid or deposit.bank_reference}",
        acting_user_id=deposit.reviewed_by_id,
    )
    deposit.status = DepositStatus.CREDITED
    deposit.ledger_transaction = ledger_tx
    deposit.credited_at = timezone.now()
    event_emit(
        type="deposit.credited",
        organization_id=deposit.organization_id,
        user=deposit.user,
        payload=deposit_payload(deposit),
    )


def deposit_observe(
    *,
    token_id: str,
    chain: str | None,
    txid: str,
    output_index: int,
    address: str,
    amount: object,
    confirmations: int,
    memo: str = "",
    acting_user: User | None = None,
) -> Deposit:
    """Record what the custodian saw on chain; credit once the chain's confirmations are reached.

    Idempotent by (chain, txid, output index): the same report any number of times, concurrently or
    not, creates one deposit and credits it at most once. Confirmations only ever go up.
    """
    token = _token(token_id)
    network = _chain(token, chain)
    txid = (txid or "").strip()
    if not txid or len(txid) > 128:
        raise InvalidParameter(_("txid is required (at most 128 characters)"))
    if output_index < 0 or confirmations < 0:
        raise InvalidParameter(_("output_index and confirmations must be non-negative"))
    value = positive_amount(amount, token=token)
    target = (
        DepositAddress.objects.filter(chain=network, address=address, memo=memo or "").select_related("user").first()
    )
    if target is None:
        raise InvalidAddress(
            _("%(address)r is not a deposit address issued on %(token)s/%(chain)s")
            % {"address": address, "token": token.pk, "chain": network.chain}
        )
    with transaction.atomic():
        row, created = create_once(
            Deposit,
            lookup={"chain": network, "txid": txid, "output_index": output_index, "kind": FundingKind.CRYPTO},
            create=lambda: Deposit.objects.create(
                organization_id=target.organization_id,
                user=target.user,
                token=token,
                kind=FundingKind.CRYPTO,
                chain=network,
                address=target.address,
                memo=target.memo,
                txid=txid,
                output_index=output_index,
                amount=value,
                confirmations_required=network.confirmations_required,
            ),
        )
        deposit = Deposit.objects.select_for_update(of=("self",)).select_related("user", "chain").get(pk=row.pk)
        if created:
            _audit("deposit.seen", actor=acting_user, deposit=deposit, confirmations=confirmations)
        elif deposit.amount != value or deposit.user_id != target.user_id:
            raise Conflict(
                _("Deposit %(txid)s:%(output_index)s was reported before with a different amount or address")
                % {"txid": txid, "output_index": output_index}
            )
        if deposit.status in (DepositStatus.CREDITED, DepositStatus.BELOW_MINIMUM):
            return deposit
        deposit.confirmations = max(deposit.confirmations, confirmations)
        if deposit.confirmations >= deposit.confirmations_required:
            if deposit.amount < token.min_deposit:
                deposit.status = DepositStatus.BELOW_MINIMUM
                _audit("deposit.below_minimum", actor=acting_user, deposit=deposit, min_deposit=str(token.min_deposit))
            else:
                _deposit_credit(deposit)
                _audit("deposit.credited", actor=acting_user, deposit=deposit)
        else:
            deposit.status = DepositStatus.CONFIRMING if deposit.confirmations > 0 else DepositStatus.SEEN
        deposit.save()
    deposit.created = created  # type: ignore[attr-defined]
    return deposit


def deposit_simulate(
    *,
    user: User,
    token_id: str,
    amount: object,
    chain: str | None = None,
    confirmations: int | None = None,
    txid: str | None = None,
    acting_user: User | None = None,
) -> Deposit:
    """Pretend the custodian saw a deposit to the user's address (simulated backend only)."""
    if settings.CUSTODY_BACKEND != "simulated":
        raise InvalidParameter(_("Deposits can be simulated only with CUSTODY_BACKEND=simulated"))
    token = _token(token_id)
    network = _chain(token, chain)
    address = deposit_address_get(user=user, token_id=token.pk, chain=network.chain)
    return deposit_observe(
        token_id=token.pk,
        chain=network.chain,
        txid=txid or f"sim-{uuid.uuid4().hex}",
        output_index=0,
        address=address.address,
        memo=address.memo,
        amount=amount,
        confirmations=network.confirmations_required if confirmations is None else confirmations,
        acting_user=acting_user,
    )


def deposit_fiat_request(*, user: User, token_id: str, amount: object) -> Deposit:
    """A fiat deposit request: the user transfers with the returned ``bank_reference``; staff confirm it."""
    token = _token(token_id)
    if not token.is_fiat:
        raise InvalidParameter(_("%(token)s is not a fiat token") % {"token": token.pk})
    if not token.deposit_enabled:
        raise DepositDisabled()
    value = positive_amount(amount, token=token)
    if value < token.min_deposit:
        raise AmountBelowMinimum(
            _("The minimum deposit is %(minimum)s %(token)s") % {"minimum": fmt(token.min_deposit), "token": token.pk}
        )
    if user.organization_id is None:
        raise InvalidParameter(_("Staff users without an organization cannot deposit"))
    with transaction.atomic():
        deposit = Deposit.objects.create(
            organization_id=user.organization_id,
            user=user,
            token=token,
            kind=FundingKind.FIAT,
            amount=value,
            status=DepositStatus.PENDING,
            bank_reference=f"D{uuid.uuid4().hex[:12].upper()}",
        )
        _audit("deposit.fiat_requested", actor=user, deposit=deposit)
    return deposit


def _locked_fiat_deposit(deposit_id: int) -> Deposit:
    deposit = Deposit.objects.select_for_update().filter(pk=deposit_id, kind=FundingKind.FIAT).first()
    if deposit is None:
        raise DepositNotFound()
    if deposit.status != DepositStatus.PENDING:
        raise InvalidTransition(
            _("Deposit %(deposit_id)s is %(status)s, not pending")
            % {"deposit_id": deposit_id, "status": deposit.status}
        )
    return deposit


def deposit_fiat_confirm(*, deposit_id: int, acting_user: User) -> Deposit:
    """Staff saw the bank transfer: credit the deposit."""
    staff = _require_perm(acting_user, FIAT_DEPOSIT_PERMISSION)
    with transaction.atomic():
        deposit = _locked_fiat_deposit(deposit_id)
        deposit.reviewed_by = staff
        _deposit_credit(deposit)
        deposit.save()
        _audit("deposit.fiat_confirmed", actor=staff, deposit=deposit)
    return deposit


def deposit_fiat_reject(*, deposit_id: int, acting_user: User, reason: str) -> Deposit:
    staff = _require_perm(acting_user, FIAT_DEPOSIT_PERMISSION)
    with transaction.atomic():
        deposit = _locked_fiat_deposit(deposit_id)
        deposit.status = DepositStatus.REJECTED
        deposit.reviewed_by = staff
        deposit.save()
        _audit("deposit.fiat_rejected", actor=staff, deposit=deposit, reason=reason)
    return deposit


# --- withdrawals --------------------------------------------------------------------------------
def _limit_for(*, user: User, token: Token) -> WithdrawalLimit | None:
    return WithdrawalLimit.objects.filter(token=token, kyc_level__lte=user.kyc_level).order_by("-kyc_level").first()


def _withdrawn_since(*, user: User, token: Token, since: datetime) -> Decimal:
    total = Withdrawal.objects.filter(
        user=user, token=token, status__in=WITHDRAWAL_COUNTED_STATUSES, created_at__gte=since
    ).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def _period_starts() -> tuple[datetime, datetime]:
    now = timezone.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


def withdrawal_quota(*, user: User, token_id: str, chain: str | None = None) -> dict[str, Any]:
    """What the user may withdraw now: fee, minimum, limits and what remains of them, available balance."""
    token = _token(token_id)
    fee, minimum, chain_name = ZERO, ZERO, ""
    if not token.is_fiat:
        network = _chain(token, chain)
        fee, minimum, chain_name = network.withdraw_fee, network.min_withdraw, network.chain
    limit = _limit_for(user=user, token=token)
    day, month = _period_starts()
    used_day = _withdrawn_since(user=user, token=token, since=day)
    used_month = _withdrawn_since(user=user, token=token, since=month)
    balance = user_account(user=user).balances.filter(token=token).first()
    available = balance.available if balance else ZERO
    with money_context():
        result: dict[str, Any] = {
            "token": token.pk,
            "chain": chain_name,
            "fee": fmt(fee),
            "min_amount": fmt(max(minimum, fee)),
            "available": fmt(available),
            "daily_limit": fmt(limit.daily_limit) if limit else None,
            "monthly_limit": fmt(limit.monthly_limit) if limit else None,
            "used_today": fmt(used_day),
            "used_this_month": fmt(used_month),
            "remaining_today": fmt(max(ZERO, min(limit.daily_limit - used_day, limit.monthly_limit - used_month)))
            if limit
            else None,
            "remaining_this_month": fmt(max(ZERO, limit.monthly_limit - used_month)) if limit else None,
        }
    return result


def _check_address(network: ChainNetwork, address: str, memo: str) -> None:
    if not address or len(address) > 255:
        raise InvalidAddress(_("An address is required"))
    if network.address_regex and not re.fullmatch(network.address_regex, address):
        raise InvalidAddress(
            _("%(address)r is not a valid %(chain)s address") % {"address": address, "chain": network.chain}
        )
    if network.needs_memo and not memo:
        raise InvalidAddress(_("%(chain)s withdrawals need a memo/tag") % {"chain": network.chain})
    if len(memo) > 128:
        raise InvalidAddress(_("The memo is too long"))


def withdrawal_request(
    *,
    user: User,
    token_id: str,
    amount: object,
    fund_password: str | None,
    totp_code: str | None,
    chain: str | None = None,
    address: str | None = None,
    memo: str = "",
    address_book_id: int | None = None,
    bank_card_id: int | None = None,
    client_order_id: str | None = None,
    api_key_authorized: bool = False,
    requested_by_organization: bool = False,
) -> Withdrawal:
    """Request a withdrawal: validate, check second factors and limits, then hold the funds.

    All input checks run before the second factors (so a typo does not burn a TOTP code) and the
    TOTP check runs last; nothing is written until every check passed. A repeated
    ``client_order_id`` returns the first withdrawal.

    ``api_key_authorized``: the caller's API key holds the ``withdraw`` permission (off by default,
    granted with the user's second factor). The key stands in for the fund password and TOTP, and
    then a crypto withdrawal may only go to an address the user saved in their address book (the
    BHEX OpenAPI rule for ``POST /openapi/v1/withdraw``).

    ``requested_by_organization``: the broker's own back end asks through the Org API (seed 001 §3.3:
    no second interaction with the user), so neither the user's factors nor an address book entry.
    """
    cid = _client_id(client_order_id)
    if cid:
        first = Withdrawal.objects.filter(user=user, client_order_id=cid).first()
        if first is not None:
            first.created = False  # type: ignore[attr-defined]
            return first
    token = _token(token_id)
    if not token.withdraw_enabled:
        raise WithdrawDisabled(_("Withdrawals of %(token)s are suspended") % {"token": token.pk})
    value = positive_amount(amount, token=token)
    network: ChainNetwork | None = None
    card: BankCard | None = None
    fee = ZERO
    memo = (memo or "").strip()
    if token.is_fiat:
        card = BankCard.objects.filter(pk=bank_card_id, user=user, is_active=True).first() if bank_card_id else None
        if card is None:
            raise InvalidParameter(_("Fiat withdrawals go to one of your registered bank cards: pass bank_card_id"))
        address, memo = "", ""
    else:
        if address_book_id is not None:
            entry = AddressBookEntry.objects.filter(pk=address_book_id, user=user, token=token).select_related("chain")
            book = entry.first()
            if book is None:
                raise NotFound(_("Address book entry does not exist"))
            network, address, memo = book.chain, book.address, book.memo
        else:
            network = _chain(token, chain)
        address = (address or "").strip()
        _check_address(network, address, memo)
        if not network.withdraw_enabled:
            raise WithdrawDisabled(
                _("Withdrawals of %(token)s on %(chain)s are suspended") % {"token": token.pk, "chain": network.chain}
            )
        fee = network.withdraw_fee
        minimum = max(network.min_withdraw, fee)
        if value < network.min_withdraw or value <= fee:
            raise AmountBelowMinimum(
                _("The minimum withdrawal is %(minimum)s %(token)s and must exceed the fee %(fee)s")
                % {"minimum": fmt(minimum), "token": token.pk, "fee": fmt(fee)}
            )
    organization = user.organization
    if organization is None or not organization.is_active:
        raise WithdrawFrozen(_("Withdrawals are suspended for this organization"))
    if not user.is_active or user_is_frozen(user=user, kind=FreezeKind.WITHDRAW, token_id=token.pk):
        raise WithdrawFrozen(_("Withdrawals of %(token)s are frozen for this account") % {"token": token.pk})
    if requested_by_organization:
        pass
    elif api_key_authorized:
        if (
            network is not None
            and not AddressBookEntry.objects.filter(user=user, chain=network, address=address, memo=memo).exists()
        ):
            raise InvalidAddress(_("Withdrawals through an API key go only to addresses saved in your address book"))
    else:
        fund_password_verify(user=user, password=fund_password)
        totp_verify(user=user, code=totp_code)

    account = user_account(user=user)
    with transaction.atomic():
        # One request per user at a time: the daily/monthly sums below cannot race.
        parent_row_lock(User, user.pk)
        if cid:
            first = Withdrawal.objects.filter(user=user, client_order_id=cid).first()
            if first is not None:
                first.created = False  # type: ignore[attr-defined]
                return first
        limit = _limit_for(user=user, token=token)
        if limit is not None:
            day, month = _period_starts()
            with money_context():
                if _withdrawn_since(user=user, token=token, since=day) + value > limit.daily_limit:
                    raise WithdrawLimitExceeded(
                        _("Above your daily %(token)s limit of %(limit)s")
                        % {"token": token.pk, "limit": fmt(limit.daily_limit)}
                    )
                if _withdrawn_since(user=user, token=token, since=month) + value > limit.monthly_limit:
                    raise WithdrawLimitExceeded(
                        _("Above your monthly %(token)s limit of %(limit)s")
                        % {"token": token.pk, "limit": fmt(limit.monthly_limit)}
                    )
        withdrawal = Withdrawal.objects.create(
            organization=organization,
            user=user,
            account=account,
            token=token,
            kind=FundingKind.FIAT if token.is_fiat else FundingKind.CRYPTO,
            chain=network,
            address=address or "",
            memo=memo,
            bank_card=card,
            amount=value,
            fee=fee,
            client_order_id=cid,
            approvals_required=2 if value > organization.withdraw_dual_approval_threshold else 1,
        )
        ledger_post(
            kind=TransactionKind.WITHDRAWAL,
            organization_id=organization.pk,
            legs=[
                Leg(account.pk, token.pk, Bucket.AVAILABLE, -value),
                Leg(account.pk, token.pk, Bucket.HOLD, value),
            ],
            reference=f"withdrawal:{withdrawal.pk}",
            idempotency_key=f"withdrawal:{withdrawal.pk}:hold",
            memo="withdrawal requested",
            acting_user_id=user.pk,
        )
        _audit("withdrawal.requested", actor=user, withdrawal=withdrawal)
        event_emit(
            type="withdrawal.requested",
            organization_id=organization.pk,
            user=user,
            payload=withdrawal_payload(withdrawal),
        )
        if value <= organization.withdraw_auto_approve_threshold and not token.is_fiat:
            withdrawal.approve()
            withdrawal.save()
            _audit("withdrawal.auto_approved", actor=None, withdrawal=withdrawal)
            _after_approval(withdrawal)
        else:
            withdrawal.send_to_review()
            withdrawal.save()
        _emit_updated(withdrawal)
    withdrawal.created = True  # type: ignore[attr-defined]
    return withdrawal


def _emit_updated(withdrawal: Withdrawal) -> None:
    event_emit(
        type="withdrawal.updated",
        organization_id=withdrawal.organization_id,
        user=withdrawal.user,
        payload=withdrawal_payload(withdrawal),
    )


def _after_approval(withdrawal: Withdrawal) -> None:
    """Queue the hand-over to the custodian once the approval commits (crypto only; fiat is paid by staff)."""
    if withdrawal.kind != FundingKind.CRYPTO:
        return
    from apps.accounts.tasks import broadcast_withdrawal

    withdrawal_id = withdrawal.pk
    transaction.on_commit(lambda: broadcast_withdrawal.delay(withdrawal_id))


def _locked_withdrawal(withdrawal_id: int, *, user: User | None = None) -> Withdrawal:
    queryset = Withdrawal.objects.select_for_update()
    if user is not None:
        queryset = queryset.filter(user=user)
    withdrawal = queryset.filter(pk=withdrawal_id).first()
    if withdrawal is None:
        raise WithdrawalNotFound()
    return withdrawal


def _step(withdrawal: Withdrawal, name: str) -> None:
    method = getattr(withdrawal, name)
    if not can_proceed(method):
        raise InvalidTransition(
            _("Withdrawal %(withdrawal)s is %(status)s: cannot %(action)s")
            % {"withdrawal": withdrawal.pk, "status": withdrawal.status, "action": name}
        )
    method()


def _release_hold(withdrawal: Withdrawal, *, acting_user: User | None) -> None:
    ledger_post(
        kind=TransactionKind.WITHDRAWAL,
        organization_id=withdrawal.organization_id,
        legs=[
            Leg(withdrawal.account_id, withdrawal.token_id, Bucket.HOLD, -withdrawal.amount),
            Leg(withdrawal.account_id, withdrawal.token_id, Bucket.AVAILABLE, withdrawal.amount),
        ],
        reference=f"withdrawal:{withdrawal.pk}",
        idempotency_key=f"withdrawal:{withdrawal.pk}:release",
        memo=f"withdrawal {withdrawal.status}",
        acting_user_id=acting_user.pk if acting_user else None,
    )


def _finish(withdrawal: Withdrawal, *, action: str, actor: User | None, **detail: Any) -> Withdrawal:
    # Only terminal transitions come here.
    withdrawal.finished_at = timezone.now()
    withdrawal.save()
    _audit(action, actor=actor, withdrawal=withdrawal, **detail)
    _emit_updated(withdrawal)
    return withdrawal


def withdrawal_cancel(*, user: User, withdrawal_id: int) -> Withdrawal:
    """The user cancels a withdrawal that is not yet approved; the hold is released."""
    with transaction.atomic():
        withdrawal = _locked_withdrawal(withdrawal_id, user=user)
        _step(withdrawal, "cancel")
        _release_hold(withdrawal, acting_user=user)
        return _finish(withdrawal, action="withdrawal.canceled", actor=user)


def withdrawal_approve(*, withdrawal_id: int, acting_user: User) -> Withdrawal:
    """A staff approval. Once ``approvals_required`` different staff approved, the withdrawal is approved."""
    staff = _require_perm(acting_user, APPROVE_PERMISSION)
    with transaction.atomic():
        withdrawal = _locked_withdrawal(withdrawal_id)
        if withdrawal.user_id == staff.pk:
            raise PermissionDenied(_("Staff cannot approve their own withdrawal"))
        if withdrawal.status != WithdrawalStatus.REVIEWING:
            raise InvalidTransition(
                _("Withdrawal %(withdrawal)s is %(status)s, not under review")
                % {"withdrawal": withdrawal.pk, "status": withdrawal.status}
            )
        if WithdrawalApproval.objects.filter(withdrawal=withdrawal, staff=staff).exists():
            raise Conflict(_("You already approved this withdrawal; a second staff member must approve it"))
        WithdrawalApproval.objects.create(withdrawal=withdrawal, staff=staff)
        count = WithdrawalApproval.objects.filter(withdrawal=withdrawal).count()
        _audit("withdrawal.approval", actor=staff, withdrawal=withdrawal, approvals=count)
        if count < withdrawal.approvals_required:
            withdrawal.save(update_fields=["updated_at"])
            return withdrawal
        _step(withdrawal, "approve")
        withdrawal.save()
        _audit("withdrawal.approved", actor=staff, withdrawal=withdrawal)
        _emit_updated(withdrawal)
        _after_approval(withdrawal)
    return withdrawal


def withdrawal_reject(*, withdrawal_id: int, acting_user: User, reason: str) -> Withdrawal:
    staff = _require_perm(acting_user, APPROVE_PERMISSION)
    if not reason.strip():
        raise InvalidParameter(_("A reason is required"))
    with transaction.atomic():
        withdrawal = _locked_withdrawal(withdrawal_id)
        _step(withdrawal, "reject")
        withdrawal.reason = reason[:255]
        _release_hold(withdrawal, acting_user=staff)
        return _finish(withdrawal, action="withdrawal.rejected", actor=staff, reason=reason)


def withdrawal_broadcast(*, withdrawal_id: int) -> Withdrawal:
    """Hand an approved crypto withdrawal to the custodian (called by the ``broadcast_withdrawal`` task).

    The custodian is called outside any transaction; ``submit_withdrawal`` is idempotent on the
    withdrawal id, so a retry after a crash between the call and the commit sends nothing twice.
    ``CustodyError`` propagates so the task retries; ``CustodyRejected`` fails the withdrawal.
    """
    withdrawal = Withdrawal.objects.select_related("chain", "user").filter(pk=withdrawal_id).first()
    if withdrawal is None:
        raise WithdrawalNotFound()
    if withdrawal.status != WithdrawalStatus.APPROVED or withdrawal.kind != FundingKind.CRYPTO:
        return withdrawal
    gateway = get_gateway()
    try:
        submitted = gateway.submit_withdrawal(withdrawal=withdrawal)
    except CustodyRejected as exc:
        return withdrawal_fail(withdrawal_id=withdrawal_id, reason=exc.message)
    with transaction.atomic():
        withdrawal = _locked_withdrawal(withdrawal_id)
        if withdrawal.status != WithdrawalStatus.APPROVED:
            return withdrawal
        _step(withdrawal, "broadcast")
        withdrawal.custody_reference = submitted.custody_reference
        withdrawal.txid = submitted.txid
        withdrawal.save()
        _audit("withdrawal.broadcast", actor=None, withdrawal=withdrawal, backend=gateway.name)
        _emit_updated(withdrawal)
        gateway.after_broadcast(withdrawal=withdrawal)
    return withdrawal


def withdrawal_complete(*, withdrawal_id: int, txid: str = "", acting_user: User | None = None) -> Withdrawal:
    """The custodian (or, for fiat, staff) reports the withdrawal done: the held funds leave the user.

    Repeating it for a completed withdrawal is a no-op (callbacks are redelivered).
    """
    with transaction.atomic():
        withdrawal = _locked_withdrawal(withdrawal_id)
        if withdrawal.status == WithdrawalStatus.COMPLETED:
            return withdrawal
        _step(withdrawal, "complete")
        if txid:
            withdrawal.txid = txid[:128]
        custody = system_account(organization_id=withdrawal.organization_id, type=AccountType.CUSTODY)
        legs = [
            Leg(withdrawal.account_id, withdrawal.token_id, Bucket.HOLD, -withdrawal.amount),
            Leg(custody.pk, withdrawal.token_id, Bucket.AVAILABLE, withdrawal.arrival_amount),
        ]
        if withdrawal.fee > 0:
            fee_account = system_account(organization_id=withdrawal.organization_id, type=AccountType.FEE)
            legs.append(Leg(fee_account.pk, withdrawal.token_id, Bucket.AVAILABLE, withdrawal.fee))
        ledger_post(
            kind=TransactionKind.WITHDRAWAL,
            organization_id=withdrawal.organization_id,
            legs=legs,
            reference=f"withdrawal:{withdrawal.pk}",
            idempotency_key=f"withdrawal:{withdrawal.pk}:complete",
            memo=f"withdrawal completed {withdrawal.txid}",
            acting_user_id=acting_user.pk if acting_user else None,
        )
        return _finish(withdrawal, action="withdrawal.completed", actor=acting_user, txid=withdrawal.txid)


def withdrawal_fail(*, withdrawal_id: int, reason: str, acting_user: User | None = None) -> Withdrawal:
    """The custodian failed an approved or broadcast withdrawal: the hold goes back, exactly once."""
    with transaction.atomic():
        withdrawal = _locked_withdrawal(withdrawal_id)
        if withdrawal.status == WithdrawalStatus.FAILED:
            return withdrawal
        _step(withdrawal, "fail")
        withdrawal.reason = (reason or "failed at the custodian")[:255]
        _release_hold(withdrawal, acting_user=acting_user)
        return _finish(withdrawal, action="withdrawal.failed", actor=acting_user, reason=withdrawal.reason)


def withdrawal_payout_fiat(*, withdrawal_id: int, acting_user: User, reference: str) -> Withdrawal:
    """Staff paid an approved fiat withdrawal to the user's bank card: record the bank reference, complete it."""
    staff = _require_perm(acting_user, PAYOUT_PERMISSION)
    if not reference.strip():
        raise InvalidParameter(_("The bank transfer reference is required"))
    with transaction.atomic():
        withdrawal = _locked_withdrawal(withdrawal_id)
        if withdrawal.kind != FundingKind.FIAT:
            raise InvalidTransition(_("Only fiat withdrawals are paid out by staff"))
        _step(withdrawal, "broadcast")
        withdrawal.custody_reference = reference[:128]
        withdrawal.save()
        _audit("withdrawal.paid_out", actor=staff, withdrawal=withdrawal, reference=reference)
    return withdrawal_complete(withdrawal_id=withdrawal_id, acting_user=staff)


def custody_callback_handle(payload: dict[str, Any]) -> dict[str, Any]:
    """Apply one verified custodian callback: a deposit report or a withdrawal outcome."""
    kind = payload.get("type")
    if kind == "deposit":
        try:
            output_index = int(payload.get("output_index", 0))
            confirmations = int(payload.get("confirmations", 0))
        except (TypeError, ValueError):
            raise InvalidParameter(_("output_index and confirmations must be integers")) from None
        deposit = deposit_observe(
            token_id=str(payload.get("token") or ""),
            chain=str(payload.get("chain") or "") or None,
            txid=str(payload.get("txid") or ""),
            output_index=output_index,
            address=str(payload.get("address") or ""),
            memo=str(payload.get("memo") or ""),
            amount=str(payload.get("amount") or ""),
            confirmations=confirmations,
        )
        return {"deposit_id": str(deposit.pk), "status": deposit.status}
    if kind == "withdrawal":
        try:
            withdrawal_id = int(payload["withdrawal_id"])
        except (KeyError, TypeError, ValueError):
            raise InvalidParameter(_("withdrawal_id is required")) from None
        status = payload.get("status")
        if status == "completed":
            withdrawal = withdrawal_complete(withdrawal_id=withdrawal_id, txid=str(payload.get("txid") or ""))
        elif status == "failed":
            withdrawal = withdrawal_fail(withdrawal_id=withdrawal_id, reason=str(payload.get("reason") or ""))
        else:
            raise InvalidParameter(_("status must be completed or failed"))
        return {"withdrawal_id": str(withdrawal.pk), "status": withdrawal.status}
    raise InvalidParameter(_("type must be deposit or withdrawal"))


# --- address book and bank cards ----------------------------------------------------------------
def address_book_add(
    *, user: User, token_id: str, address: str, chain: str | None = None, memo: str = "", label: str = ""
) -> AddressBookEntry:
    token = _token(token_id)
    network = _chain(token, chain)
    address, memo = (address or "").strip(), (memo or "").strip()
    _check_address(network, address, memo)
    if len(label) > 64:
        raise InvalidParameter(_("label: at most 64 characters"))
    with transaction.atomic():
        entry, created = create_once(
            AddressBookEntry,
            lookup={"user": user, "chain": network, "address": address, "memo": memo},
            create=lambda: AddressBookEntry.objects.create(
                user=user, token=token, chain=network, address=address, memo=memo, label=label
            ),
        )
    if not created:
        raise Conflict(_("This address is already in your address book"))
    return entry


def address_book_delete(*, user: User, entry_id: int) -> None:
    deleted, _rows = AddressBookEntry.objects.filter(pk=entry_id, user=user).delete()
    if not deleted:
        raise NotFound(_("Address book entry does not exist"))


def bank_card_add(*, user: User, bank_name: str, holder_name: str, card_number: str) -> BankCard:
    number = re.sub(r"[\s-]", "", card_number or "")
    if not re.fullmatch(r"[A-Z0-9]{8,34}", number.upper()):
        raise InvalidParameter(_("card_number: 8–34 letters or digits (card number or IBAN)"))
    if not bank_name.strip() or not holder_name.strip():
        raise InvalidParameter(_("bank_name and holder_name are required"))
    with transaction.atomic():
        card, created = create_once(
            BankCard,
            lookup={"user": user, "card_number": number.upper(), "is_active": True},
            create=lambda: BankCard.objects.create(
                user=user,
                bank_name=bank_name.strip()[:100],
                holder_name=holder_name.strip()[:100],
                card_number=number.upper(),
            ),
        )
    if not created:
        raise Conflict(_("This bank card is already registered"))
    return card


def bank_card_remove(*, user: User, card_id: int) -> None:
    if not BankCard.objects.filter(pk=card_id, user=user, is_active=True).update(is_active=False):
        raise NotFound(_("Bank card does not exist"))


# --- transfers ----------------------------------------------------------------------------------
def _owned_account(user: User, account_type: str, index: int) -> Account:
    if account_type not in (AccountType.SPOT, AccountType.FUNDING):
        raise InvalidParameter(_("Account type must be spot or funding"))
    if index == 0:
        return user_account(user=user, type=account_type)
    account = Account.objects.filter(user=user, type=account_type, index=index).first()
    if account is None:
        raise UnknownAccount(
            _("You have no %(account_type)s account #%(index)s") % {"account_type": account_type, "index": index}
        )
    return account


def transfer_create(
    *,
    user: User,
    token_id: str,
    amount: object,
    from_type: str = AccountType.SPOT,
    from_index: int = 0,
    to_type: str = AccountType.SPOT,
    to_index: int = 0,
    to_uid: int | None = None,
    client_order_id: str | None = None,
) -> Transfer:
    """Move ``available`` funds between the user's own accounts, or to another user of the same organization.

    A transfer to another user needs the organization's ``allow_internal_transfer`` and counts as a
    withdrawal for freezes; it lands in the recipient's main SPOT (or FUNDING) account.
    """
    cid = _client_id(client_order_id)
    if cid:
        first = Transfer.objects.filter(user=user, client_order_id=cid).first()
        if first is not None:
            first.created = False  # type: ignore[attr-defined]
            return first
    token = _token(token_id)
    value = positive_amount(amount, token=token)
    source = _owned_account(user, from_type, from_index)
    organization_id = user.organization_id
    assert organization_id is not None  # _owned_account refuses users without an organization
    recipient = user
    if to_uid is not None and to_uid != user.uid:
        organization = user.organization
        if organization is None or not organization.allow_internal_transfer:
            raise TransferNotAllowed(_("Transfers to other users are not enabled by this broker"))
        found = User.objects.filter(uid=to_uid, organization_id=organization_id, is_active=True).first()
        if found is None:
            raise UserNotFound()
        if to_index != 0:
            raise InvalidParameter(_("Transfers to another user land in their main account (to_index 0)"))
        if user_is_frozen(user=user, kind=FreezeKind.WITHDRAW, token_id=token.pk):
            raise WithdrawFrozen(
                _("Transfers of %(token)s to other users are frozen for this account") % {"token": token.pk}
            )
        recipient = found
    target = _owned_account(recipient, to_type, to_index)
    if target.pk == source.pk:
        raise InvalidParameter(_("Source and destination are the same account"))
    from apps.finance.selectors import account_transfer_allowed  # finance builds on accounts

    if not account_transfer_allowed(account=source, direction="out"):
        raise TransferNotAllowed(_("Transfers out of this account are locked by staff"))
    if not account_transfer_allowed(account=target, direction="in"):
        raise TransferNotAllowed(_("Transfers into the destination account are locked by staff"))
    reference = f"transfer:{user.pk}:{cid or uuid.uuid4().hex}"
    with transaction.atomic():
        ledger_tx = ledger_post(
            kind=TransactionKind.TRANSFER,
            organization_id=organization_id,
            legs=[
                Leg(source.pk, token.pk, Bucket.AVAILABLE, -value),
                Leg(target.pk, token.pk, Bucket.AVAILABLE, value),
            ],
            reference=reference,
            idempotency_key=reference,
            memo="transfer" if recipient == user else f"transfer to uid {recipient.uid}",
            acting_user_id=user.pk,
        )
        if not getattr(ledger_tx, "created", True):
            existing = Transfer.objects.get(ledger_transaction=ledger_tx)
            existing.created = False  # type: ignore[attr-defined]
            return existing
        row = Transfer.objects.create(
            organization_id=organization_id,
            user=user,
            from_account=source,
            to_account=target,
            to_user=recipient,
            token=token,
            amount=value,
            client_order_id=cid,
            ledger_transaction=ledger_tx,
        )
    row.created = True  # type: ignore[attr-defined]
    return row


def transfer_payload(transfer: Transfer) -> dict[str, Any]:
    return {
        "transfer_id": str(transfer.pk),
        "client_order_id": transfer.client_order_id,
        "token": transfer.token_id,
        "amount": fmt(transfer.amount),
        "from_account": {"type": transfer.from_account.type, "index": transfer.from_account.index},
        "to_account": {"type": transfer.to_account.type, "index": transfer.to_account.index},
        "to_uid": str(transfer.to_user.uid) if transfer.to_user.uid else "",
        "direction": "out",
        "created_at": _ms(transfer.created_at),
    }
