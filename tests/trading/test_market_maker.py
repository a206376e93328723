import pytest
from django.core.management import call_command

from apps.accounts.reconcile import reconcile
from apps.trading.models import Order, OrderStatus, Trade

pytestmark = pytest.mark.django_db(transaction=True)


def test_market_maker_quotes_and_trades(btcusdt, org):
    call_command(
        "run_market_maker",
        "--symbol",
        "BTCUSDT",
        "--iterations",
        "3",
        "--interval",
        "0",
        "--seed",
        "7",
        "--reference",
        "60000",
    )
    assert Trade.objects.count() >= 3
    resting = Order.objects.filter(status__in=[OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED])
    assert resting.filter(side="buy").exists() and resting.filter(side="sell").exists()
    assert reconcile()["ok"]
