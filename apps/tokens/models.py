"""The listing catalog: tokens, their chain networks, and spot symbols.

Listing is global (staff list a token or symbol once); which of them an organization offers is an
opt-out: a new organization offers everything listed until its staff switch an item off, recorded as
an ``OrganizationToken`` / ``OrganizationSymbol`` row with ``enabled=False``.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.core.money import AmountField

TOKEN_ID = RegexValidator(r"^[A-Z0-9]{2,16}$", "Upper-case letters and digits, 2–16 characters")


class Token(models.Model):
    id = models.CharField(primary_key=True, max_length=16, validators=[TOKEN_ID])
    name = models.CharField(max_length=32)
    full_name = models.CharField(max_length=100, blank=True, default="")
    # Decimal places the token is shown and moved with (balances, deposits, withdrawals).
    precision = models.PositiveSmallIntegerField(default=8, validators=[MinValueValidator(0)])
    is_listed = models.BooleanField(default=True)
    deposit_enabled = models.BooleanField(default=True)
    withdraw_enabled = models.BooleanField(default=True)
    min_deposit = AmountField()
    icon_url = models.URLField(blank=True, default="")
    is_fiat = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id


class ChainNetwork(models.Model):
    """One chain a token moves on (e.g. USDT on ERC20 and TRC20)."""

    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="chains")
    chain = models.CharField(max_length=32)
    confirmations_required = models.PositiveIntegerField(default=1)
    withdraw_fee = AmountField()
    min_withdraw = AmountField()
    deposit_enabled = models.BooleanField(default=True)
    withdraw_enabled = models.BooleanField(default=True)
    address_regex = models.CharField(max_length=255, blank=True, default="")
    needs_memo = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["token_id", "chain"]
        constraints = [models.UniqueConstraint(fields=["token", "chain"], name="chain_unique_per_token")]

    def __str__(self) -> str:
        return f"{self.token_id}/{self.chain}"


class SymbolStatus(models.TextChoices):
    ON = "on"  # trades
    PAUSE = "pause"  # rejects new orders, keeps resting ones
    OFF = "off"  # rejects new orders, cancels resting ones


class Symbol(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    base = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    price_tick = models.DecimalField(max_digits=38, decimal_places=18, default=Decimal("0.01"))
    quantity_step = models.DecimalField(max_digits=38, decimal_places=18, default=Decimal("0.0001"))
    min_quantity = AmountField(default=Decimal("0.0001"))
    max_quantity = AmountField(default=Decimal("100000"))
    min_notional = AmountField(default=Decimal("1"))
    maker_fee_rate = models.DecimalField(max_digits=10, decimal_places=8, default=Decimal("0.001"))
    taker_fee_rate = models.DecimalField(max_digits=10, decimal_places=8, default=Decimal("0.001"))
    # A limit price must lie within ±price_band_rate of the reference (last trade) price; market
    # orders are bounded by ±market_band_rate (protection against sweeping a thin book). 0 = no band.
    price_band_rate = models.DecimalField(max_digits=10, decimal_places=8, default=Decimal("0.5"))
    market_band_rate = models.DecimalField(max_digits=10, decimal_places=8, default=Decimal("0.1"))
    # Depth merge levels offered to clients, as price steps ("0.01,0.1,1").
    merge_levels = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=8, choices=SymbolStatus.choices, default=SymbolStatus.ON)
    buy_enabled = models.BooleanField(default=True)
    sell_enabled = models.BooleanField(default=True)
    is_listed = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price_tick__gt=0), name="symbol_tick_positive"),
            models.CheckConstraint(condition=models.Q(quantity_step__gt=0), name="symbol_step_positive"),
            models.CheckConstraint(condition=~models.Q(base=models.F("quote")), name="symbol_base_not_quote"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def price_places(self) -> int:
        return max(0, -int(self.price_tick.normalize().as_tuple().exponent))

    @property
    def quantity_places(self) -> int:
        return max(0, -int(self.quantity_step.normalize().as_tuple().exponent))

    def clean(self) -> None:
        # The matching engine works in integer ticks and lots of these sizes: changing them under
        # resting orders would re-price those orders on the next book rebuild.
        if self.pk and not self._state.adding:
            stored = Symbol.objects.filter(pk=self.pk).values("price_tick", "quantity_step").first()
            changed = stored is not None and (
                stored["price_tick"] != self.price_tick or stored["quantity_step"] != self.quantity_step
            )
            if changed:
                from apps.trading.models import OPEN_STATUSES, Order

                if Order.objects.filter(symbol_id=self.pk, status__in=OPEN_STATUSES).exists():
                    raise ValidationError(
                        "Price tick and quantity step cannot change while the symbol has open orders "
                        "(pause or delist it and let the orders finish first)"
                    )

    def merge_level_list(self) -> list[Decimal]:
        return [Decimal(x) for x in self.merge_levels.split(",") if x.strip()]


class OrganizationToken(models.Model):
    """An organization's opt-out of a listed token (absent row = offered)."""

    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, related_name="token_settings")
    token = models.ForeignKey(Token, on_delete=models.CASCADE)
    enabled = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "token"], name="org_token_unique")]

    def __str__(self) -> str:
        return f"{self.token_id} {'on' if self.enabled else 'off'} for org {self.organization_id}"


class OrganizationSymbol(models.Model):
    """An organization's opt-out of a listed symbol (absent row = offered)."""

    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, related_name="symbol_settings")
    symbol = models.ForeignKey(Symbol, on_delete=models.CASCADE)
    enabled = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "symbol"], name="org_symbol_unique")]

    def __str__(self) -> str:
        return f"{self.symbol_id} {'on' if self.enabled else 'off'} for org {self.organization_id}"
