"""Stateful property test of the ledger and the trading services together (issue #10, DESIGN.md §13).

Hypothesis drives random sequences of what the broker's people and workers do, each through its real
service: deposits (manual credits and simulated custody deposits), placing limit and market orders,
cancels, the matching worker's batch step run in-process, withdrawals through their whole state
machine (request, staff approve/reject, user cancel, broadcast, custodian complete/fail), transfers
between a user's own accounts and to another user, airdrops (into ``available`` or ``lockup``) from
the operating account, and lock-up releases.

After every step:

* **conservation**: for every token the balances of all accounts sum to zero (the CUSTODY account
  mirrors what users, fees and operations hold), so no step creates or destroys money;
* **non-negative buckets**: ``hold`` and ``lockup`` never go below zero, nor ``available`` outside
  the CUSTODY account;
* **every reserved unit has a reason**: a user's ``hold`` equals what their open orders still hold
  plus their open withdrawals, and ``lockup`` equals their locked lock-ups;
* **fills are counted once**: an order's executed quantity equals the sum of its trades.

Each rule also checks its own outcome: an operation is refused exactly when the balance cannot
cover it, and a refused operation changes no balance. At the end ``reconcile`` is clean and a replay
of every matching command through a fresh engine reproduces the trades and the resting book.

Matching and the withdrawal hand-over are rules of their own (their after-commit tasks are stubbed
out), so pending orders and approved withdrawals exist between steps as they do in production. Each
example gets its own organization, tokens and symbol, so examples never share a book or a balance
(Hypothesis replays a failing example and needs it to behave the same way again).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Sum
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from apps.accounts import funding
from apps.accounts.models import (
    WITHDRAWAL_OPEN_STATUSES,
    AccountType,
    Balance,
    DepositStatus,
    Withdrawal,
    WithdrawalStatus,
)
from apps.accounts.reconcile import reconcile
from apps.accounts.services import manual_credit, system_account, user_account
from apps.accounts.tasks import broadcast_withdrawal, confirm_simulated_withdrawal
from apps.core.errors import BrokerError, CancelRejected, InsufficientBalance, InvalidParameter
from apps.core.money import ZERO
from apps.finance.models import Airdrop, AirdropStatus, Lockup, LockupStatus
from apps.finance.services import airdrop_batch_create, lockup_create, lockup_release
from apps.tokens.models import Symbol
from apps.tokens.services import chain_create, symbol_create, token_create
from apps.trading import matching
from apps.trading.models import OPEN_STATUSES, MatchCommand, Order, OrderStatus, Trade
from apps.trading.services import order_cancel, order_place
from apps.users.models import Organization, User
from apps.users.security import fund_password_set
from apps.users.services import organization_create, user_create
from tests.accounts.test_funding_fixtures import totp_code

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = ("base", "quote")
PRECISION = {"base": 8, "quote": 2}
WITHDRAW_FEE = {"base": Decimal("0.0005"), "quote": Decimal("1")}
FUND_PASSWORD = "stateful fund secret 1234"
AUTO_APPROVE = Decimal("5")  # withdrawals at or below this are approved without staff
DUAL_APPROVAL = Decimal("200")  # above this two different staff members must approve
TICK, STEP = Decimal("0.01"), Decimal("0.0001")

_examples = itertools.count()


def _scaled(role: str, units: int) -> Decimal:
    """An amount from an integer count of the token's smallest unit (base 1e-8, quote 1e-2)."""
    return Decimal(units).scaleb(-PRECISION[role])


roles = st.sampled_from(ROLES)
deposit_units = st.integers(min_value=1, max_value=300_000_000)  # base: up to 3; quote: up to 3,000,000
prices = st.integers(min_value=9_500, max_value=10_500).map(lambda c: Decimal(c) / 100)  # 95.00 … 105.00
quantities = st.integers(min_value=110, max_value=20_000).map(lambda n: Decimal(n) / 10_000)  # 0.011 … 2 (≥ 1 quote)
any_index = st.integers(min_value=0, max_value=10_000)


def _market(n: int) -> tuple[str, str, str]:
    """A fresh base/quote pair with one chain each and its symbol; returns (base, quote, symbol) ids."""
    base = token_create(id=f"SB{n}", precision=PRECISION["base"])
    quote = token_create(id=f"SQ{n}", precision=PRECISION["quote"])
    chain_create(token=base, chain=f"SB{n}", confirmations_required=2, withdraw_fee=WITHDRAW_FEE["base"])
    chain_create(token=quote, chain=f"SQ{n}", confirmations_required=3, withdraw_fee=WITHDRAW_FEE["quote"])
    symbol = symbol_create(
        base=base,
        quote=quote,
        price_tick=TICK,
        quantity_step=STEP,
        min_quantity=STEP,
        max_quantity=Decimal("1000"),
        min_notional=Decimal("1"),
        maker_fee_rate=Decimal("0.001"),
        taker_fee_rate=Decimal("0.002"),
        price_band_rate=Decimal("0"),
        market_band_rate=Decimal("0"),
    )
    return base.pk, quote.pk, symbol.pk


def _balances(account_ids: list[int]) -> dict[tuple[int, str], tuple[Decimal, Decimal, Decimal]]:
    return {
        (b.account_id, b.token_id): (b.available, b.hold, b.lockup)
        for b in Balance.objects.filter(account_id__in=account_ids)
    }


def _staff(n: int) -> User:
    staff = User.objects.create_user(
        username=f"stateful-staff-{n}", email=f"stateful-staff-{n}@broker.test", password="x", is_staff=True
    )
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="accounts", codename="approve_withdrawal")
    )
    return User.objects.get(pk=staff.pk)


def test_broker_state_machine(db: Any) -> None:
    approvers = [_staff(1), _staff(2)]
    symbols: list[str] = []

    class Broker(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            n = next(_examples)
            base, quote, self.symbol = _market(n)
            symbols.append(self.symbol)
            self.token = {"base": base, "quote": quote}
            self.org = organization_create(name=f"Stateful broker {n}")
            Organization.objects.filter(pk=self.org.pk).update(
                allow_internal_transfer=True,
                withdraw_auto_approve_threshold=AUTO_APPROVE,
                withdraw_dual_approval_threshold=DUAL_APPROVAL,
            )
            self.org.refresh_from_db()
            self.users: list[User] = []
            for i in range(3):
                user = user_create(organization=self.org, email=f"s{n}-{i}@example.com", password=None)
                fund_password_set(user=user, password=FUND_PASSWORD)
                TOTPDevice.objects.create(user=user, name="app", confirmed=True)
                self.users.append(user)
            self.spot = [user_account(user=u).pk for u in self.users]
            self.funding_accounts = [user_account(user=u, type=AccountType.FUNDING).pk for u in self.users]
            self.system = [
                system_account(organization_id=self.org.pk, type=t).pk
                for t in (AccountType.CUSTODY, AccountType.FEE, AccountType.OPERATING)
            ]
            self.operating = self.system[2]
            self.accounts = self.spot + self.funding_accounts
            self.orders: list[int] = []
            # withdrawal id -> (expected status, staff ids that approved it)
            self.withdrawals: dict[int, tuple[str, set[int]]] = {}
            self.lockups: list[int] = []
            self.batches = 0

        # --- helpers -------------------------------------------------------------------------
        def available(self, account_id: int, role: str) -> Decimal:
            row = Balance.objects.filter(account_id=account_id, token_id=self.token[role]).first()
            return row.available if row else ZERO

        def snapshot(self) -> dict[tuple[int, str], tuple[Decimal, Decimal, Decimal]]:
            return _balances([*self.accounts, *self.system])

        def refused(self, before: dict[tuple[int, str], tuple[Decimal, Decimal, Decimal]]) -> None:
            assert self.snapshot() == before, "a refused operation changed a balance"

        # --- funding in ------------------------------------------------------------------------
        @initialize(
            base=st.lists(st.integers(100_000_000, 500_000_000), min_size=3, max_size=3),
            quote=st.lists(st.integers(50_000, 500_000), min_size=3, max_size=3),
        )
        def open_accounts(self, base: list[int], quote: list[int]) -> None:
            # Everyone starts with money, so that most orders and withdrawals are accepted; the rules
            # still drive balances down to where operations are refused.
            for user, b, q in zip(self.users, base, quote, strict=True):
                for role, units in (("base", b), ("quote", q)):
                    amount = _scaled(role, units)
                    manual_credit(user=user, token_id=self.token[role], amount=amount, reason="stateful opening")

        @rule(i=st.integers(0, 2), role=roles, units=deposit_units, on_chain=st.booleans())
        def deposit(self, i: int, role: str, units: int, on_chain: bool) -> None:
            amount = _scaled(role, units)
            before = self.available(self.spot[i], role)
            if on_chain:
                deposit = funding.deposit_simulate(user=self.users[i], token_id=self.token[role], amount=amount)
                assert deposit.status == DepositStatus.CREDITED
            else:
                manual_credit(user=self.users[i], token_id=self.token[role], amount=amount, reason="stateful")
            assert self.available(self.spot[i], role) == before + amount

        @rule(role=roles, units=deposit_units)
        def fund_operating(self, role: str, units: int) -> None:
            amount = _scaled(role, units)
            before = self.available(self.operating, role)
            manual_credit(organization=self.org, token_id=self.token[role], amount=amount, reason="stateful")
            assert self.available(self.operating, role) == before + amount

        # --- trading -------------------------------------------------------------------------
        def _place(self, i: int, hold_role: str, hold: Decimal, match_now: bool = False, **order: Any) -> None:
            enough = self.available(self.spot[i], hold_role) >= hold
            before = self.snapshot()
            try:
                placed = order_place(user=self.users[i], symbol_id=self.symbol, **order)
            except InsufficientBalance:
                assert not enough, f"refused although {hold} {hold_role} was available"
                self.refused(before)
                return
            assert enough, f"placed without {hold} {hold_role} available"
            assert placed.status == OrderStatus.PENDING and placed.hold_amount == hold
            assert self.available(self.spot[i], hold_role) == before[(self.spot[i], self.token[hold_role])][0] - hold
            self.orders.append(placed.pk)
            if match_now:  # as the worker would, right after the commit
                self.match()

        @rule(
            i=st.integers(0, 2),
            side=st.sampled_from(["buy", "sell"]),
            price=prices,
            quantity=quantities,
            tif=st.sampled_from(["gtc", "gtc", "ioc", "fok"]),
            maker=st.booleans(),
            match_now=st.booleans(),
        )
        def place_limit(
            self, i: int, side: str, price: Decimal, quantity: Decimal, tif: str, maker: bool, match_now: bool
        ) -> None:
            order_type = "limit_maker" if maker and tif == "gtc" else "limit"
            role, hold = ("quote", price * quantity) if side == "buy" else ("base", quantity)
            self._place(
                i, role, hold, match_now, side=side, type=order_type, price=price, quantity=quantity, time_in_force=tif
            )

        @rule(i=st.integers(0, 2), funds=st.integers(100, 50_000), quantity=quantities, buy=st.booleans())
        def place_market(self, i: int, funds: int, quantity: Decimal, buy: bool) -> None:
            if buy:
                quote = _scaled("quote", funds)  # 1.00 … 500.00 to spend
                self._place(i, "quote", quote, True, side="buy", type="market", quote_amount=quote)
            else:
                qty = max(quantity, Decimal("0.05"))  # ≥ 1 quote at any price the rules use
                self._place(i, "base", qty, True, side="sell", type="market", quantity=qty)

        @rule(i=st.integers(0, 2), quantity=quantities, ioc=st.booleans(), buy=st.booleans())
        def take(self, i: int, quantity: Decimal, ioc: bool, buy: bool) -> None:
            """A limit order at the best opposite price, so that it trades whenever the book has one."""
            resting = Order.objects.filter(symbol_id=self.symbol, status__in=OPEN_STATUSES, type="limit")
            best_ask = resting.filter(side="sell").order_by("price").values_list("price", flat=True).first()
            best_bid = resting.filter(side="buy").order_by("-price").values_list("price", flat=True).first()
            if best_ask is not None and (buy or best_bid is None):
                side, price, role, hold = "buy", best_ask, "quote", best_ask * quantity
            elif best_bid is not None:
                side, price, role, hold = "sell", best_bid, "base", quantity
            else:
                return
            tif = "ioc" if ioc else "gtc"
            self._place(i, role, hold, True, side=side, type="limit", price=price, quantity=quantity, time_in_force=tif)

        @precondition(lambda self: self.orders)
        @rule(k=any_index)
        def cancel(self, k: int) -> None:
            order = Order.objects.get(pk=self.orders[k % len(self.orders)])
            before = self.snapshot()
            try:
                order_cancel(user=order.user, order_id=order.pk)
            except CancelRejected:
                assert order.status not in OPEN_STATUSES
            # A cancel is a command: nothing moves until the matching worker runs it.
            assert self.snapshot() == before

        @rule()
        def match(self) -> None:
            matching.process_symbol(self.symbol, batch_size=16)
            assert not MatchCommand.objects.filter(symbol_id=self.symbol, processed_at__isnull=True).exists()
            assert not Order.objects.filter(symbol_id=self.symbol, status=OrderStatus.PENDING).exists()

        # --- withdrawals ---------------------------------------------------------------------
        @rule(i=st.integers(0, 2), role=roles, units=st.integers(1, 100_000))
        def withdraw(self, i: int, role: str, units: int) -> None:
            # More than the fee: base 0.00050001 … 0.0015, quote 1.01 … 1,001
            amount = WITHDRAW_FEE[role] + (_scaled(role, units) if role == "quote" else Decimal(units) / 10**8)
            user = self.users[i]
            enough = self.available(self.spot[i], role) >= amount
            before = self.snapshot()
            try:
                withdrawal = funding.withdrawal_request(
                    user=user,
                    token_id=self.token[role],
                    amount=amount,
                    fund_password=FUND_PASSWORD,
                    totp_code=totp_code(user),
                    address=f"stateful-address-{role}",
                )
            except InsufficientBalance:
                assert not enough
                self.refused(before)
                return
            assert enough
            expected = WithdrawalStatus.APPROVED if amount <= AUTO_APPROVE else WithdrawalStatus.REVIEWING
            assert withdrawal.status == expected
            assert withdrawal.approvals_required == (2 if amount > DUAL_APPROVAL else 1)
            self.withdrawals[withdrawal.pk] = (expected, set())

        @precondition(lambda self: self.withdrawals)
        @rule(
            k=any_index,
            action=st.sampled_from(["approve", "approve", "reject", "cancel", "broadcast", "complete", "fail"]),
            staff=st.integers(0, 1),
        )
        def withdrawal_step(self, k: int, action: str, staff: int) -> None:
            """One step of the withdrawal state machine; illegal steps must be refused and change nothing."""
            withdrawal_id = sorted(self.withdrawals)[k % len(self.withdrawals)]
            status, approved_by = self.withdrawals[withdrawal_id]
            approver = approvers[staff]
            row = Withdrawal.objects.select_related("user").get(pk=withdrawal_id)
            in_review = status in (WithdrawalStatus.SUBMITTED, WithdrawalStatus.REVIEWING)
            call: Callable[[], object]
            if action == "approve":
                legal = status == WithdrawalStatus.REVIEWING and approver.pk not in approved_by
                if legal:
                    approved_by = approved_by | {approver.pk}
                enough_approvals = len(approved_by) >= row.approvals_required
                target = WithdrawalStatus.APPROVED if enough_approvals else WithdrawalStatus.REVIEWING
                call = partial(funding.withdrawal_approve, withdrawal_id=withdrawal_id, acting_user=approver)
            elif action == "reject":
                legal, target = in_review, WithdrawalStatus.REJECTED
                call = partial(
                    funding.withdrawal_reject, withdrawal_id=withdrawal_id, acting_user=approver, reason="stateful"
                )
            elif action == "cancel":
                legal, target = in_review, WithdrawalStatus.CANCELED
                call = partial(funding.withdrawal_cancel, user=row.user, withdrawal_id=withdrawal_id)
            elif action == "broadcast":
                # The broadcast task leaves a withdrawal that is not approved alone: no error, no change.
                legal = True
                target = WithdrawalStatus.BROADCAST if status == WithdrawalStatus.APPROVED else status
                call = partial(funding.withdrawal_broadcast, withdrawal_id=withdrawal_id)
            elif action == "complete":
                legal = status in (WithdrawalStatus.BROADCAST, WithdrawalStatus.COMPLETED)  # repeat = no-op
                target = WithdrawalStatus.COMPLETED
                call = partial(funding.withdrawal_complete, withdrawal_id=withdrawal_id)
            else:
                legal = status in (WithdrawalStatus.APPROVED, WithdrawalStatus.BROADCAST, WithdrawalStatus.FAILED)
                target = WithdrawalStatus.FAILED
                call = partial(funding.withdrawal_fail, withdrawal_id=withdrawal_id, reason="stateful")
            before = self.snapshot()
            try:
                call()
            except BrokerError as exc:
                assert not legal, f"{action} of a {status} withdrawal refused: {exc}"
                self.refused(before)
                assert Withdrawal.objects.get(pk=withdrawal_id).status == status
                return
            assert legal, f"{action} of a {status} withdrawal was accepted"
            assert Withdrawal.objects.get(pk=withdrawal_id).status == target
            if target in (WithdrawalStatus.COMPLETED, WithdrawalStatus.BROADCAST) and status == target:
                assert self.snapshot() == before  # a repeated callback moves nothing
            self.withdrawals[withdrawal_id] = (target, approved_by)

        # --- transfers, airdrops, lock-ups ---------------------------------------------------------
        @rule(
            i=st.integers(0, 2),
            j=st.integers(0, 2),
            role=roles,
            units=deposit_units,
            from_funding=st.booleans(),
            to_funding=st.booleans(),
        )
        def transfer(self, i: int, j: int, role: str, units: int, from_funding: bool, to_funding: bool) -> None:
            amount = _scaled(role, max(1, units // 10))
            source = (self.funding_accounts if from_funding else self.spot)[i]
            target = (self.funding_accounts if to_funding else self.spot)[j]
            enough = self.available(source, role) >= amount
            before = self.snapshot()
            try:
                funding.transfer_create(
                    user=self.users[i],
                    token_id=self.token[role],
                    amount=amount,
                    from_type=AccountType.FUNDING if from_funding else AccountType.SPOT,
                    to_type=AccountType.FUNDING if to_funding else AccountType.SPOT,
                    to_uid=self.users[j].uid if j != i else None,
                )
            except InsufficientBalance:
                assert not enough
                self.refused(before)
                return
            except InvalidParameter:
                assert source == target, "only a transfer to the same account is invalid here"
                self.refused(before)
                return
            assert enough and source != target
            token = self.token[role]
            assert before[(source, token)][0] - amount == self.available(source, role)
            assert before.get((target, token), (ZERO,))[0] + amount == self.available(target, role)

        @rule(role=roles, shares=st.lists(st.integers(1, 50_000_000), min_size=1, max_size=3), lockup=st.booleans())
        def airdrop(self, role: str, shares: list[int], lockup: bool) -> None:
            rows = [
                {"uid": str(self.users[n % 3].uid), "amount": str(_scaled(role, units))}
                for n, units in enumerate(shares)
            ]
            total = sum((_scaled(role, units) for units in shares), ZERO)
            enough = self.available(self.operating, role) >= total
            self.batches += 1
            before = self.snapshot()
            try:
                batch = airdrop_batch_create(
                    organization=self.org,
                    batch_id=f"stateful-{self.batches}",
                    token_id=self.token[role],
                    rows=rows,
                    bucket="lockup" if lockup else "available",
                )
            except InsufficientBalance:
                assert not enough
                self.refused(before)
                return
            assert enough
            batch = Airdrop.objects.get(pk=batch.pk)  # processed by its task after commit
            assert (batch.status, batch.succeeded_rows) == (AirdropStatus.COMPLETED, len(rows))
            assert self.available(self.operating, role) == before[(self.operating, self.token[role])][0] - total
            if lockup:
                self.lockups.extend(Lockup.objects.filter(airdrop_item__airdrop=batch).values_list("pk", flat=True))

        @rule(i=st.integers(0, 2), role=roles, units=deposit_units)
        def lock(self, i: int, role: str, units: int) -> None:
            amount = _scaled(role, max(1, units // 100))
            enough = self.available(self.spot[i], role) >= amount
            before = self.snapshot()
            try:
                lockup = lockup_create(
                    user=self.users[i], token_id=self.token[role], amount=amount, acting_user=self.users[i]
                )
            except InsufficientBalance:
                assert not enough
                self.refused(before)
                return
            assert enough
            self.lockups.append(lockup.pk)

        @precondition(lambda self: self.lockups)
        @rule(k=any_index)
        def unlock(self, k: int) -> None:
            lockup_id = self.lockups[k % len(self.lockups)]
            was = Lockup.objects.get(pk=lockup_id).status
            before = self.snapshot()
            lockup = lockup_release(lockup_id=lockup_id, organization=self.org)
            assert lockup.status == LockupStatus.RELEASED
            if was == LockupStatus.RELEASED:
                assert self.snapshot() == before  # releasing twice moves nothing

        # --- invariants ----------------------------------------------------------------------
        @invariant()
        def conserved_and_non_negative(self) -> None:
            totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
            rows = Balance.objects.filter(token_id__in=self.token.values()).values_list(
                "token_id", "available", "hold", "lockup", "allow_negative"
            )
            for token, available, hold, lockup, allow_negative in rows:
                totals[token] += available + hold + lockup
                assert hold >= 0 and lockup >= 0, (token, hold, lockup)
                assert available >= 0 or allow_negative, (token, available)
            assert all(total == 0 for total in totals.values()), dict(totals)

        @invariant()
        def every_reserved_unit_has_a_reason(self) -> None:
            expected_hold: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
            open_orders = Order.objects.filter(account_id__in=self.spot, status__in=OPEN_STATUSES)
            for account, token, remaining in open_orders.values_list("account_id", "hold_token_id", "hold_remaining"):
                expected_hold[(account, token)] += remaining
            open_withdrawals = Withdrawal.objects.filter(account_id__in=self.spot, status__in=WITHDRAWAL_OPEN_STATUSES)
            for account, token, amount in open_withdrawals.values_list("account_id", "token_id", "amount"):
                expected_hold[(account, token)] += amount
            expected_lockup: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
            locked = Lockup.objects.filter(account_id__in=self.spot, status=LockupStatus.LOCKED)
            for account, token, amount in locked.values_list("account_id", "token_id", "amount"):
                expected_lockup[(account, token)] += amount
            for (account, token), (_, hold, lockup) in _balances(self.accounts).items():
                assert hold == expected_hold[(account, token)], (account, token, hold)
                assert lockup == expected_lockup[(account, token)], (account, token, lockup)

        @invariant()
        def fills_counted_once(self) -> None:
            traded: dict[int, Decimal] = defaultdict(lambda: ZERO)
            for side in ("buy_order", "sell_order"):
                rows = (
                    Trade.objects.filter(symbol_id=self.symbol)
                    .values(side)
                    .annotate(total=Sum("quantity"))
                    .values_list(side, "total")
                )
                for order_id, total in rows:
                    traded[order_id] += total
            for pk, executed in Order.objects.filter(symbol_id=self.symbol).values_list("pk", "executed_quantity"):
                assert executed == traded[pk], (pk, executed, traded[pk])

        def teardown(self) -> None:
            # Whatever the example left pending is matched; then its log must replay to the same state.
            matching.process_symbol(self.symbol)
            symbol = Symbol.objects.get(pk=self.symbol)
            book, replayed = matching.replay(symbol)
            assert len(replayed) == Trade.objects.filter(symbol=symbol).count()
            resting: dict[tuple[str, int], int] = defaultdict(int)
            for side, price, leaves in Order.objects.filter(
                symbol=symbol, status__in=(OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
            ).values_list("side", "price", "leaves_quantity"):
                resting[(side, int(price / TICK))] += int(leaves / STEP)
            bids, asks = book.depth()
            assert {("buy", p): q for p, q in bids} | {("sell", p): q for p, q in asks} == dict(resting)

    Broker.TestCase.settings = settings(
        max_examples=10, stateful_step_count=50, deadline=None, suppress_health_check=list(HealthCheck)
    )
    with (
        mock.patch("apps.trading.services.queue_match"),  # matching is the `match` rule
        mock.patch.object(broadcast_withdrawal, "delay"),  # the hand-over is the `broadcast` rule
        mock.patch.object(confirm_simulated_withdrawal, "apply_async"),  # the custodian's answer is `complete`
    ):
        Broker.TestCase().runTest()

    report = reconcile()
    assert report["ok"], report
    # The run did trade: examples that never reached the book would prove little.
    assert Trade.objects.filter(symbol_id__in=symbols).exists()
