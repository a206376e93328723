"""Orders, the command log the matching worker consumes, and trades (DESIGN.md §8).

Placing an order is one DB transaction: the order row (``PENDING``), its funds moved to ``hold``, and a
``MatchCommand`` row. Cancels are ``MatchCommand`` rows too. The matching worker consumes a symbol's
unprocessed commands in id order, so the command table is the replayable log of everything the
engine has been told; ``SymbolMatchState.seq`` counts the commands applied, which is how a worker
detects that its in-memory book is stale (another writer, a crash) and rebuilds it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.money import AmountField


class OrderSide(models.TextChoices):
    BUY = "buy"
    SELL = "sell"


class OrderType(models.TextChoices):
    LIMIT = "limit"
    MARKET = "market"  # sell by base quantity, buy by quote amount
    LIMIT_MAKER = "limit_maker"  # post-only


class TimeInForce(models.TextChoices):
    GTC = "gtc"  # good till canceled
    IOC = "ioc"  # immediate or cancel
    FOK = "fok"  # fill or kill


class SelfTradePrevention(models.TextChoices):
    DC = "dc"  # decrease and cancel (default)
    CO = "co"  # cancel oldest
    CN = "cn"  # cancel newest
    CB = "cb"  # cancel both


class OrderStatus(models.TextChoices):
    PENDING = "pending"  # accepted and funds held; not yet seen by the matching engine
    NEW = "new"  # resting on the book, nothing filled
    PARTIALLY_FILLED = "partially_filled"  # resting, part filled
    FILLED = "filled"  # done: fully filled
    CANCELED = "canceled"  # done: canceled (by the user, IOC/market remainder, STP, delisting)
    REJECTED = "rejected"  # done: refused by the engine (post-only would cross, FOK cannot fill)


OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
DONE_STATUSES = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


class Order(models.Model):
    # Foreign keys without their own index where a composite index below starts with the column (or
    # nothing looks orders up by it): every matching batch rewrites hundreds of order rows, and each
    # index is one more entry to write per row.
    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="+", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="orders", db_index=False)
    symbol = models.ForeignKey("tokens.Symbol", on_delete=models.PROTECT, related_name="orders", db_index=False)
    client_order_id = models.CharField(max_length=64)
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    type = models.CharField(max_length=16, choices=OrderType.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC)
    stp = models.CharField(max_length=2, choices=SelfTradePrevention.choices, default=SelfTradePrevention.DC)
    price = AmountField(null=True, blank=True, default=None)
    quantity = AmountField(null=True, blank=True, default=None)
    quote_amount = AmountField(null=True, blank=True, default=None)  # market buy: quote to spend
    # Market orders: the worst price they may trade at (the symbol's protection band), if any.
    protection_price = AmountField(null=True, blank=True, default=None)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    executed_quantity = AmountField()
    executed_quote = AmountField()
    leaves_quantity = AmountField()  # still open on the book
    fee = AmountField()  # paid in the token received: base for a buy, quote for a sell
    hold_token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+", db_index=False)
    hold_amount = AmountField()  # moved to hold at placement
    hold_remaining = AmountField()  # still held; released when the order is done
    reason = models.CharField(max_length=64, blank=True, default="")
    # The match sequence at which the engine accepted it: its time priority on the book.
    book_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "client_order_id"], name="order_client_id_unique"),
            models.CheckConstraint(condition=models.Q(hold_remaining__gte=0), name="order_hold_remaining_gte_0"),
        ]
        indexes = [
            models.Index(fields=["symbol", "status"], name="order_symbol_status"),
            models.Index(fields=["user", "symbol", "id"], name="order_user_symbol"),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} {self.side} {self.symbol_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CommandKind(models.TextChoices):
    PLACE = "place"
    CANCEL = "cancel"


class MatchCommand(models.Model):
    # Indexed through ``command_pending`` and ``command_once_per_order`` (see Order's comment).
    symbol = models.ForeignKey("tokens.Symbol", on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=8, choices=CommandKind.choices)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="commands", db_index=False)
    reason = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Position in the symbol's processed stream (commands commit out of id order under concurrency).
    seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # one place and at most one cancel per order: a repeated cancel request is a no-op
            models.UniqueConstraint(fields=["order", "kind"], name="command_once_per_order"),
        ]
        indexes = [
            models.Index(fields=["symbol", "id"], name="command_pending", condition=models.Q(processed_at__isnull=True))
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.order_id}"


class SymbolMatchState(models.Model):
    """The matching worker's per-symbol row: locked by every batch; ``seq`` = commands applied."""

    symbol = models.OneToOneField("tokens.Symbol", on_delete=models.CASCADE, primary_key=True, related_name="match")
    seq = models.BigIntegerField(default=0)
    last_price = AmountField(null=True, blank=True, default=None)
    last_trade_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.symbol_id} seq {self.seq}"


class Trade(models.Model):
    # symbol, buyer and seller are indexed through trade_symbol / trade_buyer / trade_seller, which
    # start with them: every trade a batch inserts writes each index once (see Order's comment).
    symbol = models.ForeignKey("tokens.Symbol", on_delete=models.PROTECT, related_name="trades", db_index=False)
    price = AmountField()
    quantity = AmountField()
    quote_quantity = AmountField()
    buy_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    sell_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    buyer_is_maker = models.BooleanField()
    buyer_fee = AmountField()  # in base
    seller_fee = AmountField()  # in quote
    match_seq = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["symbol", "id"], name="trade_symbol"),
            models.Index(fields=["buyer", "symbol", "id"], name="trade_buyer"),
            models.Index(fields=["seller", "symbol", "id"], name="trade_seller"),
        ]

    def __str__(self) -> str:
        return f"trade {self.pk} {self.quantity}@{self.price} {self.symbol_id}"
