"""Finance operations (DESIGN.md §4, §6; docs/finance.md).

Every row here records *why* money moved; the money itself moves only through
``apps.accounts.ledger.ledger_post`` in the same DB transaction as the row is written, and each row
points at its ledger transaction. Services in ``apps.finance.services`` write these tables.

* ``Airdrop`` + ``AirdropItem`` — a batch (one row or thousands) from the OPERATING account or a
  named source user, into ``available`` or ``lockup``; per-row result, progress counters.
* ``Lockup`` — funds a user or staff moved from ``available`` to ``lockup``, with an optional unlock
  date a periodic task honours.
* ``ConvertPair`` / ``ConvertQuote`` — floating-rate conversion through the OPERATING account at a
  quoted rate that expires.
* ``MappingPair`` / ``MappingRecord`` — fixed-rate conversion set by staff, with per-user limits.
* ``BonusGrant`` — bonus credits (赠金): withdrawable grants land in ``available``; non-withdrawable
  ones stay in ``lockup`` until released.
* ``AccountTransferLock`` — staff locks on transfers into or out of one account.
* ``CommissionConfig`` / ``CommissionRecord`` — referral commission on invitees' trading fees.
* ``SystemBalance`` / ``FinanceOperation`` — proxies for the admin's balance and history views.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from apps.accounts.models import Account, Balance, LedgerTransaction
from apps.core.money import AmountField


class AirdropBucket(models.TextChoices):
    AVAILABLE = "available"  # spendable at once
    LOCKUP = "lockup"  # locked; one Lockup row per recipient, released by date or by staff


class AirdropStatus(models.TextChoices):
    PENDING = "pending"  # created, waiting for the task
    PROCESSING = "processing"  # the task is posting rows
    COMPLETED = "completed"  # every row has a result (succeeded or failed)
    REJECTED = "rejected"  # the source could not cover the batch when it ran: nothing moved


class Airdrop(models.Model):
    """One airdrop batch; ``batch_id`` (client-supplied) is unique per organization."""

    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    batch_id = models.CharField(max_length=64)
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    # Null: the organization's OPERATING account pays.
    source_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    bucket = models.CharField(max_length=16, choices=AirdropBucket.choices, default=AirdropBucket.AVAILABLE)
    unlock_at = models.DateTimeField(null=True, blank=True)
    memo = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=AirdropStatus.choices, default=AirdropStatus.PENDING)
    reason = models.CharField(max_length=255, blank=True, default="")
    total_rows = models.PositiveIntegerField(default=0)
    valid_amount = AmountField()  # sum of the rows that parsed; checked against the source up front
    processed_rows = models.PositiveIntegerField(default=0)
    succeeded_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["organization", "batch_id"], name="airdrop_unique_batch")]

    def __str__(self) -> str:
        return f"airdrop {self.batch_id} ({self.status})"


class AirdropItemStatus(models.TextChoices):
    PENDING = "pending"  # valid, not posted yet
    SUCCEEDED = "succeeded"  # posted
    FAILED = "failed"  # refused; ``reason`` says why


class AirdropItem(models.Model):
    airdrop = models.ForeignKey(Airdrop, on_delete=models.PROTECT, related_name="items")
    row = models.PositiveIntegerField()  # 1-based position in the uploaded list
    uid = models.CharField(max_length=32)  # as given
    amount_text = models.CharField(max_length=64)  # as given
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    amount = AmountField(null=True, blank=True, default=None)
    status = models.CharField(max_length=16, choices=AirdropItemStatus.choices, default=AirdropItemStatus.PENDING)
    reason = models.CharField(max_length=255, blank=True, default="")
    ledger_transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["airdrop_id", "row"]
        constraints = [models.UniqueConstraint(fields=["airdrop", "row"], name="airdrop_item_unique_row")]
        indexes = [models.Index(fields=["airdrop", "status", "row"], name="airdrop_item_status")]

    def __str__(self) -> str:
        return f"row {self.row} of {self.airdrop_id}: {self.status}"


class LockupSource(models.TextChoices):
    USER = "user"  # the user locked their own funds
    STAFF = "staff"  # staff or the Org API locked them
    AIRDROP = "airdrop"  # an airdrop delivered straight into lockup


class LockupStatus(models.TextChoices):
    LOCKED = "locked"  # in the lockup bucket
    RELEASED = "released"  # back in available (final)


class Lockup(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lockups")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    amount = AmountField()
    source = models.CharField(max_length=16, choices=LockupSource.choices)
    status = models.CharField(max_length=16, choices=LockupStatus.choices, default=LockupStatus.LOCKED)
    unlock_at = models.DateTimeField(null=True, blank=True)
    client_order_id = models.CharField(max_length=64, blank=True, default="")
    airdrop_item = models.OneToOneField(
        AirdropItem, on_delete=models.PROTECT, null=True, blank=True, related_name="lockup"
    )
    lock_transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="+")
    release_transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    memo = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        permissions = [("release_lockup", "Can release a lock-up before its unlock date")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=~models.Q(client_order_id=""),
                name="lockup_unique_client_order_id",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="lockup_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["user", "id"], name="lockup_user_id"),
            models.Index(fields=["status", "unlock_at"], name="lockup_due"),
        ]

    def __str__(self) -> str:
        return f"lockup #{self.pk} {self.amount} {self.token_id} ({self.status})"


class ConvertPair(models.Model):
    """A floating-rate conversion offered by the broker: priced from ``symbol``'s last trade less ``spread``."""

    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    from_token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    to_token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    symbol = models.ForeignKey("tokens.Symbol", on_delete=models.PROTECT, related_name="+")
    spread = models.DecimalField(max_digits=10, decimal_places=8, default=0, help_text="e.g. 0.005 = 0.5%")
    min_amount = AmountField(help_text="Smallest from-amount per conversion")
    max_amount = AmountField(help_text="Largest from-amount per conversion")
    daily_user_limit = AmountField(help_text="From-amount a user may convert per UTC day; 0 = no limit")
    quote_ttl_seconds = models.PositiveIntegerField(default=10)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "from_token", "to_token"], name="convert_pair_unique"),
            models.CheckConstraint(condition=models.Q(spread__gte=0, spread__lt=1), name="convert_pair_spread"),
        ]

    def __str__(self) -> str:
        return f"convert {self.from_token_id}→{self.to_token_id}"


class ConvertQuoteStatus(models.TextChoices):
    OPEN = "open"  # executable until expires_at
    EXECUTED = "executed"  # final


class ConvertQuote(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="convert_quotes")
    pair = models.ForeignKey(ConvertPair, on_delete=models.PROTECT, related_name="quotes")
    from_amount = AmountField()
    to_amount = AmountField()
    rate = AmountField()
    status = models.CharField(max_length=16, choices=ConvertQuoteStatus.choices, default=ConvertQuoteStatus.OPEN)
    expires_at = models.DateTimeField()
    ledger_transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    executed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "status", "executed_at"], name="convert_quote_user")]

    def __str__(self) -> str:
        return f"quote #{self.pk} {self.from_amount} {self.pair}"


class MappingPair(models.Model):
    """A fixed-rate mapping set by staff: 1 ``from_token`` = ``rate`` ``to_token``."""

    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    from_token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    to_token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    rate = AmountField()
    min_amount = AmountField(help_text="Smallest from-amount per mapping")
    max_amount = AmountField(help_text="Largest from-amount per mapping")
    daily_user_limit = AmountField(help_text="From-amount a user may map per UTC day; 0 = no limit")
    total_user_limit = AmountField(help_text="From-amount a user may map in all; 0 = no limit")
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "from_token", "to_token"], name="mapping_pair_unique"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="mapping_pair_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"mapping 1 {self.from_token_id} = {self.rate} {self.to_token_id}"


class MappingRecord(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mappings")
    pair = models.ForeignKey(MappingPair, on_delete=models.PROTECT, related_name="records")
    from_amount = AmountField()
    to_amount = AmountField()
    rate = AmountField()
    client_order_id = models.CharField(max_length=64, blank=True, default="")
    ledger_transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=~models.Q(client_order_id=""),
                name="mapping_unique_client_order_id",
            )
        ]
        indexes = [models.Index(fields=["user", "pair", "created_at"], name="mapping_user_pair")]

    def __str__(self) -> str:
        return f"mapping #{self.pk} {self.from_amount} {self.pair}"


class BonusStatus(models.TextChoices):
    GRANTED = "granted"  # credited (withdrawable: in available; non-withdrawable: in lockup)
    RELEASED = "released"  # a non-withdrawable grant moved to available (final)


class BonusGrant(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bonus_grants")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    amount = AmountField()
    withdrawable = models.BooleanField()
    status = models.CharField(max_length=16, choices=BonusStatus.choices, default=BonusStatus.GRANTED)
    client_order_id = models.CharField(max_length=64, blank=True, default="")
    memo = models.CharField(max_length=255, blank=True, default="")
    grant_transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="+")
    release_transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        permissions = [("release_bonusgrant", "Can release a non-withdrawable bonus")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "client_order_id"],
                condition=~models.Q(client_order_id=""),
                name="bonus_unique_client_order_id",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="bonus_amount_positive"),
        ]

    def __str__(self) -> str:
        kind = "withdrawable" if self.withdrawable else "non-withdrawable"
        return f"{kind} bonus #{self.pk} {self.amount} {self.token_id}"


class TransferDirection(models.TextChoices):
    IN = "in"  # money moving into the account
    OUT = "out"  # money moving out of the account
    BOTH = "both"  # either way


class AccountTransferLock(models.Model):
    """Staff lock on transfers into and/or out of one user account (seed 002 B-side); active until lifted."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="transfer_locks")
    direction = models.CharField(max_length=8, choices=TransferDirection.choices)
    reason = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "is_active"], name="transfer_lock_active")]

    def __str__(self) -> str:
        return f"{self.direction} transfer lock on account {self.account_id}"


class CommissionConfig(models.Model):
    """Share of invitees' trading fees paid to their inviters (level 1) and the inviters' inviters (level 2)."""

    organization = models.OneToOneField("users.Organization", on_delete=models.PROTECT, related_name="+")
    level1_rate = models.DecimalField(max_digits=10, decimal_places=8, default=0)
    level2_rate = models.DecimalField(max_digits=10, decimal_places=8, default=0)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    level1_rate__gte=0,
                    level2_rate__gte=0,
                    level1_rate__lte=models.Value(1) - models.F("level2_rate"),
                ),
                name="commission_rates_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"commission L1 {self.level1_rate} L2 {self.level2_rate}"


class CommissionRecord(models.Model):
    """One inviter's commission from one invitee's fees in one token on one UTC day."""

    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+")
    inviter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commissions")
    invitee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()
    day = models.DateField()
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    fee_amount = AmountField()
    rate = models.DecimalField(max_digits=10, decimal_places=8)
    amount = AmountField()
    ledger_transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["inviter", "invitee", "level", "day", "token"], name="commission_record_unique"
            ),
        ]
        indexes = [models.Index(fields=["inviter", "id"], name="commission_inviter")]

    def __str__(self) -> str:
        return f"L{self.level} commission {self.amount} {self.token_id} to {self.inviter_id} for {self.day}"


class SystemBalance(Balance):
    """Admin view of the OPERATING and FEE accounts' balances."""

    class Meta:
        proxy = True
        verbose_name = "operating / fee balance"


class FinanceOperation(LedgerTransaction):
    """Admin view of the ledger transactions finance operations wrote (references start with ``fin:``)."""

    class Meta:
        proxy = True
        verbose_name = "finance operation"
        permissions = [("export_financeoperation", "Can export finance operations as CSV")]
