"""The double-entry ledger (DESIGN.md §6).

Shaped after django-hordak: the invariants live in the database, not only in Python.

* ``Account`` — a user's SPOT (index 0 = main, 1.. = sub-accounts) and FUNDING accounts, and each
  organization's system accounts CUSTODY (mirror of custodian holdings; may go negative, since every
  deposit is credited from it), FEE (income) and OPERATING (airdrops, conversions).
* ``Balance`` — per (account, token) with three buckets; a cache of the postings, updated in the same
  DB transaction as they are written. CHECK constraints keep every bucket ≥ 0 except ``available``
  on accounts flagged ``allow_negative`` (copied onto the row because a CHECK sees only its own row).
* ``LedgerTransaction`` + ``Posting`` — every change. Postings of one transaction sum to zero per
  token; on Postgres a deferred constraint trigger enforces that at commit, and triggers make both
  tables append-only (migration 0002). Corrections are new transactions.

Only ``apps.accounts.ledger.ledger_post`` writes these tables.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from apps.core.money import AmountField


class AccountType(models.TextChoices):
    SPOT = "spot"  # trading account; index 0 is the user's main account
    FUNDING = "funding"  # BGE's funding account
    CUSTODY = "custody"  # system: mirror of assets held by the custodian
    FEE = "fee"  # system: fee income
    OPERATING = "operating"  # system: airdrops, conversions, manual credits


SYSTEM_ACCOUNT_TYPES = (AccountType.CUSTODY, AccountType.FEE, AccountType.OPERATING)


class Bucket(models.TextChoices):
    AVAILABLE = "available"  # spendable
    HOLD = "hold"  # reserved by open orders and pending withdrawals
    LOCKUP = "lockup"  # finance lock-ups


class Account(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="accounts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts"
    )
    type = models.CharField(max_length=16, choices=AccountType.choices)
    index = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=64, blank=True, default="")
    allow_negative = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "type", "index"], condition=models.Q(user__isnull=False), name="account_unique_per_user"
            ),
            models.UniqueConstraint(
                fields=["organization", "type"], condition=models.Q(user__isnull=True), name="system_account_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=True, type__in=SYSTEM_ACCOUNT_TYPES)
                | models.Q(user__isnull=False, type__in=[AccountType.SPOT, AccountType.FUNDING]),
                name="account_owner_matches_type",
            ),
        ]

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id else f"org {self.organization_id}"
        return f"{self.type}#{self.index} of {owner}"

    @property
    def is_system(self) -> bool:
        return self.user_id is None


class Balance(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="balances")
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    available = AmountField()
    hold = AmountField()
    lockup = AmountField()
    allow_negative = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "token"], name="balance_unique"),
            models.CheckConstraint(
                condition=models.Q(available__gte=0) | models.Q(allow_negative=True), name="balance_available_gte_0"
            ),
            models.CheckConstraint(condition=models.Q(hold__gte=0), name="balance_hold_gte_0"),
            models.CheckConstraint(condition=models.Q(lockup__gte=0), name="balance_lockup_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.token_id} in {self.account_id}"

    @property
    def total(self) -> Decimal:
        return self.available + self.hold + self.lockup


class TransactionKind(models.TextChoices):
    DEPOSIT = "deposit"
    MANUAL_CREDIT = "manual_credit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"
    ORDER_HOLD = "order_hold"
    ORDER_RELEASE = "order_release"
    TRADE = "trade"
    AIRDROP = "airdrop"
    LOCK = "lock"
    UNLOCK = "unlock"
    CONVERT = "convert"
    ADJUSTMENT = "adjustment"


class LedgerTransaction(models.Model):
    # Null for transactions that span organizations (a trade batch settles users of several brokers).
    organization = models.ForeignKey(
        "users.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=TransactionKind.choices)
    # What the transaction is about, e.g. "order:123", "deposit:9".
    reference = models.CharField(max_length=128, blank=True, default="", db_index=True)
    # Unique when set: the same key posted twice has one effect (the second call returns the first).
    idempotency_key = models.CharField(max_length=160, unique=True, null=True, blank=True)
    memo = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Posting(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    bucket = models.CharField(max_length=16, choices=Bucket.choices)
    amount = AmountField()
    # The (account, token) total after this posting: what an account statement shows.
    total_after = AmountField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["account", "token", "id"], name="posting_statement"),
            models.Index(fields=["transaction", "token"], name="posting_tx_token"),
        ]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="posting_amount_nonzero")]

    def __str__(self) -> str:
        return f"{self.amount} {self.token_id} {self.bucket} on {self.account_id}"
