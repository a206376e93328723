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
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

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


# --- funding (DESIGN.md §7) ---------------------------------------------------------------------
# Deposits, withdrawals, transfers and the records around them. Balances still change only through
# ``ledger_post``; these rows say *why* and carry the state machines. Services in
# ``apps.accounts.funding`` write them.


class DepositAddress(models.Model):
    """The address (and memo/tag where the chain needs one) a user deposits a token on one chain to.

    Issued once by the custody gateway and never replaced: (user, chain) is unique.
    """

    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposit_addresses")
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    chain = models.ForeignKey("tokens.ChainNetwork", on_delete=models.PROTECT, related_name="+")
    address = models.CharField(max_length=255)
    memo = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "chain"], name="deposit_address_unique_per_user_chain"),
            models.UniqueConstraint(fields=["chain", "address", "memo"], name="deposit_address_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.address}{'/' + self.memo if self.memo else ''} ({self.chain})"


class FundingKind(models.TextChoices):
    CRYPTO = "crypto"  # on a chain, through the custody gateway
    FIAT = "fiat"  # bank transfer, confirmed / paid out by staff


class DepositStatus(models.TextChoices):
    SEEN = "seen"  # observed on chain, no confirmation yet
    CONFIRMING = "confirming"  # 1..required-1 confirmations
    CREDITED = "credited"  # posted CUSTODY → user (final)
    BELOW_MINIMUM = "below_minimum"  # confirmed but under the token's minimum: recorded, never credited
    PENDING = "pending"  # fiat request waiting for staff to see the bank transfer
    REJECTED = "rejected"  # fiat request refused by staff (final)


class Deposit(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits")
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=FundingKind.choices, default=FundingKind.CRYPTO)
    chain = models.ForeignKey("tokens.ChainNetwork", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    address = models.CharField(max_length=255, blank=True, default="")
    memo = models.CharField(max_length=128, blank=True, default="")
    txid = models.CharField(max_length=128, blank=True, default="")
    output_index = models.PositiveIntegerField(default=0)
    # Fiat: the reference the user writes on the bank transfer.
    bank_reference = models.CharField(max_length=64, blank=True, default="")
    amount = AmountField()
    confirmations = models.PositiveIntegerField(default=0)
    confirmations_required = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=DepositStatus.choices, default=DepositStatus.SEEN)
    ledger_transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        permissions = [
            ("confirm_fiat_deposit", "Can confirm or reject fiat deposit requests"),
            ("simulate_deposit", "Can simulate an incoming deposit (simulated custody backend)"),
        ]
        constraints = [
            # Idempotency of on-chain deposits (DESIGN.md §7): one row per (chain, txid, output index).
            models.UniqueConstraint(
                fields=["chain", "txid", "output_index"],
                condition=models.Q(kind="crypto"),
                name="deposit_unique_chain_output",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="deposit_amount_positive"),
        ]
        indexes = [models.Index(fields=["user", "id"], name="deposit_user_id")]

    def __str__(self) -> str:
        return f"deposit #{self.pk} {self.amount} {self.token_id} ({self.status})"


class WithdrawalStatus(models.TextChoices):
    SUBMITTED = "submitted"  # funds on hold, not yet routed
    REVIEWING = "reviewing"  # waiting for staff approval(s)
    APPROVED = "approved"  # approved (automatically or by staff), not yet sent to the custodian
    BROADCAST = "broadcast"  # accepted by the custodian / being paid out, hold still in place
    COMPLETED = "completed"  # final: hold → CUSTODY (amount − fee) + FEE (fee)
    REJECTED = "rejected"  # final: refused by staff, hold released
    FAILED = "failed"  # final: the custodian failed it, hold released
    CANCELED = "canceled"  # final: canceled by the user before approval, hold released


WITHDRAWAL_OPEN_STATUSES = (
    WithdrawalStatus.SUBMITTED,
    WithdrawalStatus.REVIEWING,
    WithdrawalStatus.APPROVED,
    WithdrawalStatus.BROADCAST,
)
# Withdrawals that count against the daily/monthly limits.
WITHDRAWAL_COUNTED_STATUSES = (*WITHDRAWAL_OPEN_STATUSES, WithdrawalStatus.COMPLETED)


class BankCard(models.Model):
    """A bank account a user registered for fiat withdrawals (stored as given; the card number is masked in output)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bank_cards")
    bank_name = models.CharField(max_length=100)
    holder_name = models.CharField(max_length=100)
    card_number = models.CharField(max_length=34)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "card_number"], condition=models.Q(is_active=True), name="bank_card_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.bank_name} ****{self.card_number[-4:]}"


class Withdrawal(models.Model):
    """A withdrawal request. ``amount`` leaves the user's balance; ``amount - fee`` arrives at the destination.

    ``status`` is a django-fsm-2 field; transitions happen only in ``apps.accounts.funding`` under a
    row lock, each with a ``FundingAudit`` row.
    """

    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=FundingKind.choices, default=FundingKind.CRYPTO)
    chain = models.ForeignKey("tokens.ChainNetwork", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    address = models.CharField(max_length=255, blank=True, default="")
    memo = models.CharField(max_length=128, blank=True, default="")
    bank_card = models.ForeignKey(BankCard, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount = AmountField()
    fee = AmountField()
    status = FSMField(max_length=16, choices=WithdrawalStatus.choices, default=WithdrawalStatus.SUBMITTED)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    client_order_id = models.CharField(max_length=64, blank=True, default="")
    custody_reference = models.CharField(max_length=128, blank=True, default="")
    txid = models.CharField(max_length=128, blank=True, default="")
    reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Every state change, with the staff member behind it (the FundingAudit rows say why).
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        permissions = [
            ("approve_withdrawal", "Can approve or reject withdrawals"),
            ("payout_withdrawal", "Can mark fiat withdrawals as paid out"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=~models.Q(client_order_id=""),
                name="withdrawal_unique_client_order_id",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="withdrawal_amount_positive"),
            models.CheckConstraint(condition=models.Q(fee__gte=0), name="withdrawal_fee_gte_0"),
        ]
        indexes = [
            models.Index(fields=["user", "id"], name="withdrawal_user_id"),
            models.Index(fields=["status", "created_at"], name="withdrawal_queue"),
        ]

    def __str__(self) -> str:
        return f"withdrawal #{self.pk} {self.amount} {self.token_id} ({self.status})"

    @property
    def arrival_amount(self) -> Decimal:
        return self.amount - self.fee

    # Transitions: bodies are empty on purpose — the ledger postings, audit rows and events that go
    # with each one are written by the service that calls it, inside its transaction.
    @transition(field=status, source=WithdrawalStatus.SUBMITTED, target=WithdrawalStatus.REVIEWING)
    def send_to_review(self) -> None:
        pass

    @transition(
        field=status, source=[WithdrawalStatus.SUBMITTED, WithdrawalStatus.REVIEWING], target=WithdrawalStatus.APPROVED
    )
    def approve(self) -> None:
        pass

    @transition(
        field=status, source=[WithdrawalStatus.SUBMITTED, WithdrawalStatus.REVIEWING], target=WithdrawalStatus.REJECTED
    )
    def reject(self) -> None:
        pass

    @transition(
        field=status, source=[WithdrawalStatus.SUBMITTED, WithdrawalStatus.REVIEWING], target=WithdrawalStatus.CANCELED
    )
    def cancel(self) -> None:
        pass

    @transition(field=status, source=WithdrawalStatus.APPROVED, target=WithdrawalStatus.BROADCAST)
    def broadcast(self) -> None:
        pass

    @transition(field=status, source=WithdrawalStatus.BROADCAST, target=WithdrawalStatus.COMPLETED)
    def complete(self) -> None:
        pass

    @transition(
        field=status, source=[WithdrawalStatus.APPROVED, WithdrawalStatus.BROADCAST], target=WithdrawalStatus.FAILED
    )
    def fail(self) -> None:
        pass


class WithdrawalApproval(models.Model):
    """One staff approval; a withdrawal above the dual-approval threshold needs two by different staff."""

    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, related_name="approvals")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["withdrawal", "staff"], name="withdrawal_approval_once")]

    def __str__(self) -> str:
        return f"approval of {self.withdrawal_id} by {self.staff_id}"


class WithdrawalLimit(models.Model):
    """Daily and monthly withdrawal limits of one token for users at ``kyc_level`` and above.

    Global (every organization), in the token's own units. A user gets the row with the highest
    ``kyc_level`` not above theirs; with no such row the token has no limit. Days and months are UTC.
    """

    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, related_name="+")
    kyc_level = models.PositiveSmallIntegerField(default=0)
    daily_limit = AmountField()
    monthly_limit = AmountField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["token_id", "kyc_level"]
        constraints = [models.UniqueConstraint(fields=["token", "kyc_level"], name="withdrawal_limit_unique")]

    def __str__(self) -> str:
        return f"{self.token_id} KYC≥{self.kyc_level}: {self.daily_limit}/day, {self.monthly_limit}/month"


class AddressBookEntry(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="address_book")
    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, related_name="+")
    chain = models.ForeignKey("tokens.ChainNetwork", on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=255)
    memo = models.CharField(max_length=128, blank=True, default="")
    label = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "chain", "address", "memo"], name="address_book_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.label or self.address} ({self.chain})"


class Transfer(models.Model):
    """An instant move between two accounts (a user's own, or to another user of the same organization)."""

    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transfers_out")
    from_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    to_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transfers_in")
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    amount = AmountField()
    client_order_id = models.CharField(max_length=64, blank=True, default="")
    ledger_transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=~models.Q(client_order_id=""),
                name="transfer_unique_client_order_id",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="transfer_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"transfer #{self.pk} {self.amount} {self.token_id}"


class FundingAudit(models.Model):
    """Who did what to a deposit or withdrawal: one row per state change and per staff action."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=32)
    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, null=True, blank=True, related_name="audit")
    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.PROTECT, null=True, blank=True, related_name="audit")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id or 'system'}"


class CustodyCallbackReceipt(models.Model):
    """Signatures of custodian callbacks already accepted: a replayed request is refused by this unique key."""

    signature = models.CharField(max_length=128, unique=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.signature[:16]
