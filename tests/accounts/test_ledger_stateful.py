"""Stateful property test of the ledger (DESIGN.md §13): random sequences of credits, transfers,
holds, releases, lock-ups and debits keep every token conserved (all balances of a token sum to
zero, the custody account mirroring what users hold), never drive a bucket below zero, and always
reconcile. Refused operations (insufficient balance) must change nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from apps.accounts.ledger import Leg, ledger_post
from apps.accounts.models import AccountType, Balance, Bucket
from apps.accounts.reconcile import reconcile
from apps.accounts.services import system_account, user_account
from apps.core.errors import InsufficientBalance
from apps.core.money import ZERO
from apps.tokens.models import Token
from apps.tokens.services import token_create
from apps.users.services import organization_create, user_create

TOKENS = ("BTC", "USDT")
amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000"), places=8)


@pytest.mark.django_db(transaction=True)
def test_ledger_state_machine(django_db_blocker):
    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # Fresh rows for every example (the database is shared across examples of one test). A
            # uuid, not id(self): a collected machine's id comes back, and the name would clash.
            tag = uuid.uuid4().hex
            self.org = organization_create(name=f"Org {tag}")
            for token in TOKENS:
                if not Token.objects.filter(pk=token).exists():
                    token_create(id=token, name=token, precision=8)
            self.users = [
                user_create(organization=self.org, email=f"u{i}-{tag}@example.com", password=None) for i in range(3)
            ]
            self.accounts = [user_account(user=u).pk for u in self.users] + [
                user_account(user=u, type=AccountType.FUNDING).pk for u in self.users
            ]
            self.custody = system_account(organization_id=self.org.pk, type=AccountType.CUSTODY).pk
            self.model: dict[tuple[int, str, str], Decimal] = {}

        def bal(self, account: int, token: str, bucket: str) -> Decimal:
            return self.model.get((account, token, bucket), ZERO)

        def post(self, legs: list[Leg]) -> bool:
            try:
                ledger_post(kind="adjustment", organization_id=self.org.pk, legs=legs)
            except InsufficientBalance:
                return False
            for leg in legs:
                key = (leg.account_id, leg.token_id, leg.bucket)
                self.model[key] = self.bal(*key) + leg.amount
            return True

        @rule(i=st.integers(0, 5), token=st.sampled_from(TOKENS), amount=amounts)
        def deposit(self, i: int, token: str, amount: Decimal) -> None:
            assert self.post(
                [
                    Leg(self.custody, token, Bucket.AVAILABLE, -amount),
                    Leg(self.accounts[i], token, Bucket.AVAILABLE, amount),
                ]
            )

        @rule(i=st.integers(0, 5), j=st.integers(0, 5), token=st.sampled_from(TOKENS), amount=amounts)
        def transfer(self, i: int, j: int, token: str, amount: Decimal) -> None:
            src, dst = self.accounts[i], self.accounts[j]
            enough = self.bal(src, token, Bucket.AVAILABLE) >= amount
            ok = (
                self.post([Leg(src, token, Bucket.AVAILABLE, -amount), Leg(dst, token, Bucket.AVAILABLE, amount)])
                if src != dst
                else True
            )
            assert ok == (enough or src == dst)

        @rule(
            i=st.integers(0, 5),
            token=st.sampled_from(TOKENS),
            amount=amounts,
            into=st.sampled_from([Bucket.HOLD, Bucket.LOCKUP]),
        )
        def reserve(self, i: int, token: str, amount: Decimal, into: str) -> None:
            account = self.accounts[i]
            enough = self.bal(account, token, Bucket.AVAILABLE) >= amount
            assert (
                self.post([Leg(account, token, Bucket.AVAILABLE, -amount), Leg(account, token, into, amount)]) == enough
            )

        @rule(
            i=st.integers(0, 5),
            token=st.sampled_from(TOKENS),
            amount=amounts,
            source=st.sampled_from([Bucket.HOLD, Bucket.LOCKUP]),
        )
        def release(self, i: int, token: str, amount: Decimal, source: str) -> None:
            account = self.accounts[i]
            enough = self.bal(account, token, source) >= amount
            assert (
                self.post([Leg(account, token, source, -amount), Leg(account, token, Bucket.AVAILABLE, amount)])
                == enough
            )

        @rule(i=st.integers(0, 5), token=st.sampled_from(TOKENS), amount=amounts)
        def withdraw_from_hold(self, i: int, token: str, amount: Decimal) -> None:
            account = self.accounts[i]
            enough = self.bal(account, token, Bucket.HOLD) >= amount
            assert (
                self.post(
                    [Leg(account, token, Bucket.HOLD, -amount), Leg(self.custody, token, Bucket.AVAILABLE, amount)]
                )
                == enough
            )

        @invariant()
        def database_matches_model_and_conserves(self) -> None:
            rows = Balance.objects.filter(account__organization=self.org)
            for row in rows:
                for bucket in Bucket.values:
                    assert getattr(row, bucket) == self.bal(row.account_id, row.token_id, bucket)
                assert row.hold >= 0 and row.lockup >= 0
                if row.account_id != self.custody:
                    assert row.available >= 0
            for token in TOKENS:
                total = sum((r.available + r.hold + r.lockup for r in rows if r.token_id == token), ZERO)
                assert total == 0

        def teardown(self) -> None:
            assert reconcile()["ok"]

    Ledger.TestCase.settings = settings(
        max_examples=15, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
    )
    Ledger.TestCase().runTest()
