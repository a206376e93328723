from decimal import Decimal

import pytest

from apps.market.intervals import bucket_start
from apps.market.models import INTERVALS, Kline
from apps.market.services import Tick, klines_record

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000  # an hour boundary


def tick(n, ms, price, qty):
    price, qty = Decimal(price), Decimal(qty)
    return Tick(n, ms, price, qty, price * qty, False)


def test_trades_across_minutes_fold_into_every_interval(btcusdt):
    klines_record(
        symbol_id="BTCUSDT",
        ticks=[tick(1, T0 + 1_000, "100", "1"), tick(2, T0 + 30_000, "105", "2"), tick(3, T0 + 61_000, "99", "1")],
    )
    minute = list(
        Kline.objects.filter(interval="1m")
        .order_by("open_time")
        .values_list("open", "high", "low", "close", "volume", "trade_count")
    )
    assert minute == [
        (Decimal("100"), Decimal("105"), Decimal("100"), Decimal("105"), Decimal("3"), 2),
        (Decimal("99"), Decimal("99"), Decimal("99"), Decimal("99"), Decimal("1"), 1),
    ]
    hour = Kline.objects.get(interval="1h")
    assert (
        hour.open_time,
        hour.open,
        hour.high,
        hour.low,
        hour.close,
        hour.volume,
        hour.quote_volume,
        hour.trade_count,
    ) == (T0, Decimal("100"), Decimal("105"), Decimal("99"), Decimal("99"), Decimal("4"), Decimal("409"), 3)
    assert set(Kline.objects.values_list("interval", flat=True)) == set(INTERVALS)
    # a later batch in the same hour extends the bar: open kept, close moves, sums add
    klines_record(symbol_id="BTCUSDT", ticks=[tick(4, T0 + 120_000, "101", "0.5")])
    hour.refresh_from_db()
    assert (hour.open, hour.close, hour.low, hour.volume, hour.trade_count) == (
        Decimal("100"),
        Decimal("101"),
        Decimal("99"),
        Decimal("4.5"),
        4,
    )


def test_week_and_month_boundaries():
    monday = 1_700_438_400_000  # 2023-11-20 00:00 UTC, a Monday
    assert bucket_start("1w", monday + 3 * 86_400_000) == monday
    assert bucket_start("1M", monday) == 1_698_796_800_000  # 2023-11-01
    assert bucket_start("3m", 1_000 * 60 * 7 + 5) == 1_000 * 60 * 6
