"""Market data kept by the matching worker at batch commit (DESIGN.md §9).

Trades are ``apps.trading.Trade``; klines are aggregated here for every interval; 24h tickers are
computed from the 1-minute klines; depth snapshots live in the cache (``apps.market.depth``).
"""

from __future__ import annotations

from django.db import models

from apps.core.money import AmountField

INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M")


class Kline(models.Model):
    symbol = models.ForeignKey("tokens.Symbol", on_delete=models.CASCADE, related_name="+")
    interval = models.CharField(max_length=3)
    open_time = models.BigIntegerField()  # ms since the epoch, start of the bucket
    open = AmountField()
    high = AmountField()
    low = AmountField()
    close = AmountField()
    volume = AmountField()  # base
    quote_volume = AmountField()
    trade_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["symbol", "interval", "open_time"]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "interval", "open_time"], name="kline_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.interval} {self.open_time}"
