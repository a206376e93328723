"""Order placement: validation, holds, idempotency (DESIGN.md §8 "Command log")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.accounts.models import Posting
from apps.accounts.reconcile import reconcile
from apps.core import errors
from apps.tokens.models import SymbolStatus
from apps.trading.models import MatchCommand, Order, OrderStatus, SymbolMatchState
from apps.users.models import FreezeKind, UserFreeze

pytestmark = pytest.mark.django_db(transaction=True)


def test_limit_buy_holds_quote_and_rests(traders, place, bal):
    alice, _ = traders
    order = place(alice, "buy", price="100.50", quantity="2", client_order_id="c1")
    assert order.created is True
    assert order.status == OrderStatus.NEW  # the in-process engine ran after commit
    assert (order.hold_token_id, order.hold_amount, order.hold_remaining) == ("USDT", Decimal("201"), Decimal("201"))
    assert bal(alice, "USDT") == (Decimal("99799"), Decimal("201"))
    assert MatchCommand.objects.filter(order=order, kind="place", processed_at__isnull=False).exists()
    assert reconcile()["ok"]


def test_sell_holds_base(traders, place, bal):
    alice, _ = traders
    place(alice, "sell", price="100", quantity="1.5")
    assert bal(alice, "BTC") == (Decimal("8.5"), Decimal("1.5"))


def test_retry_with_same_client_order_id_returns_first_order_and_holds_once(traders, place, bal):
    alice, _ = traders
    first = place(alice, "buy", price="100", quantity="1", client_order_id="retry-1")
    again = place(alice, "buy", price="100", quantity="1", client_order_id="retry-1")
    assert again.pk == first.pk and again.created is False
    assert Order.objects.filter(client_order_id="retry-1").count() == 1
    assert bal(alice, "USDT") == (Decimal("99900"), Decimal("100"))


def _unchanged(alice, bal):
    return (Order.objects.count(), Posting.objects.count(), bal(alice, "USDT"), bal(alice, "BTC"))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"side": "buy", "price": "100.001", "quantity": "1"}, errors.PrecisionTooHigh),
        ({"side": "buy", "price": "100", "quantity": "1.00001"}, errors.PrecisionTooHigh),
        ({"side": "buy", "price": "100", "quantity": "0"}, errors.InvalidParameter),
        ({"side": "buy", "price": "-1", "quantity": "1"}, errors.InvalidParameter),
        ({"side": "sell", "price": "100", "quantity": "1001"}, errors.QuantityTooLarge),
        ({"side": "buy", "price": "0.01", "quantity": "1"}, errors.NotionalTooSmall),
        ({"side": "buy", "price": "100"}, errors.InvalidParameter),
        ({"side": "buy", "price": "abc", "quantity": "1"}, errors.InvalidAmount),
        ({"side": "hold", "price": "100", "quantity": "1"}, errors.InvalidParameter),
        ({"side": "buy", "type": "stop", "price": "100", "quantity": "1"}, errors.InvalidParameter),
        ({"side": "buy", "price": "100", "quantity": "1", "time_in_force": "day"}, errors.InvalidParameter),
        ({"side": "buy", "type": "market", "quantity": "1"}, errors.InvalidParameter),
        ({"side": "buy", "type": "market", "quote_amount": "0.5"}, errors.NotionalTooSmall),
        ({"side": "buy", "type": "market", "quote_amount": "10.0000001"}, errors.PrecisionTooHigh),
        ({"side": "sell", "type": "market", "quantity": "1", "time_in_force": "gtc"}, errors.InvalidParameter),
        (
            {"side": "buy", "type": "limit_maker", "price": "100", "quantity": "1", "time_in_force": "ioc"},
            errors.InvalidParameter,
        ),
        ({"side": "buy", "price": "1000", "quantity": "100.5"}, errors.InsufficientBalance),
        ({"side": "sell", "price": "100", "quantity": "10.0001"}, errors.InsufficientBalance),
        ({"side": "buy", "price": "100", "quantity": "1", "symbol": "DOGEUSDT"}, errors.UnknownSymbol),
        ({"side": "buy", "price": "100", "quantity": "1", "client_order_id": "bad id!"}, errors.InvalidParameter),
    ],
)
def test_bad_orders_get_clear_errors_and_change_nothing(traders, place, bal, kwargs, error):
    alice, _ = traders
    before = _unchanged(alice, bal)
    kwargs = dict(kwargs)
    side = kwargs.pop("side")
    with pytest.raises(error):
        place(alice, side, **kwargs)
    assert _unchanged(alice, bal) == before


def test_paused_and_off_symbols_reject_new_orders(traders, place, btcusdt):
    alice, _ = traders
    for status in (SymbolStatus.PAUSE, SymbolStatus.OFF):
        btcusdt.status = status
        btcusdt.save()
        with pytest.raises(errors.SymbolNotTrading):
            place(alice, "buy", price="100", quantity="1")
    assert not Order.objects.exists()


def test_buy_switch_off_rejects_buys_only(traders, place, btcusdt):
    alice, _ = traders
    btcusdt.buy_enabled = False
    btcusdt.save()
    with pytest.raises(errors.SymbolNotTrading):
        place(alice, "buy", price="100", quantity="1")
    assert place(alice, "sell", price="100", quantity="1").status == OrderStatus.NEW


def test_trading_freezes_all_symbols_or_one(traders, place, btcusdt):
    alice, bob = traders
    UserFreeze.objects.create(user=alice, kind=FreezeKind.TRADE, reason="compliance hold")
    with pytest.raises(errors.TradingFrozen):
        place(alice, "buy", price="100", quantity="1")
    UserFreeze.objects.create(user=bob, kind=FreezeKind.TRADE, symbol=btcusdt, reason="symbol only")
    with pytest.raises(errors.TradingFrozen):
        place(bob, "buy", price="100", quantity="1")
    UserFreeze.objects.filter(user=alice).update(is_active=False)
    assert place(alice, "buy", price="100", quantity="1").status == OrderStatus.NEW


def test_kyc_gate_of_the_organization(traders, place, org):
    alice, _ = traders
    org.trading_kyc_level = 1
    org.save()
    alice.refresh_from_db()
    with pytest.raises(errors.PermissionDenied):
        place(alice, "buy", price="100", quantity="1")
    alice.kyc_level = 1
    alice.save()
    assert place(alice, "buy", price="100", quantity="1").status == OrderStatus.NEW


def test_price_band_around_last_price(traders, place, btcusdt):
    alice, _ = traders
    btcusdt.price_band_rate = Decimal("0.1")
    btcusdt.save()
    SymbolMatchState.objects.create(symbol=btcusdt, last_price=Decimal("100"))
    with pytest.raises(errors.PriceOutOfBand):
        place(alice, "buy", price="89.99", quantity="1")
    with pytest.raises(errors.PriceOutOfBand):
        place(alice, "sell", price="110.01", quantity="1")
    assert place(alice, "buy", price="90", quantity="1").status == OrderStatus.NEW


def test_market_protection_band_bounds_a_sweep(traders, place, btcusdt, bal):
    alice, bob = traders
    btcusdt.market_band_rate = Decimal("0.05")
    btcusdt.save()
    SymbolMatchState.objects.create(symbol=btcusdt, last_price=Decimal("100"))
    place(alice, "sell", price="104", quantity="1")
    place(alice, "sell", price="106", quantity="1")  # beyond last + 5%
    order = place(bob, "buy", type="market", quote_amount="300")
    assert order.protection_price == Decimal("105")
    assert order.executed_quantity == Decimal("1")
    assert order.status == OrderStatus.CANCELED and order.reason == "no_liquidity"
    assert bal(bob, "USDT") == (Decimal("99896"), Decimal("0"))
    assert reconcile()["ok"]


def test_placement_holds_the_balance_lock_over_no_avoidable_statement(postgres, traders, place, monkeypatch):
    """decisions.md #49: the match command and the ``balance.changed`` owners are written / read
    before the balance row is locked, so a matching batch settling the same user waits less."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import Account, Balance

    alice, _ = traders
    monkeypatch.setattr("apps.trading.services.queue_match", lambda symbol_id: None)  # nothing after commit
    with CaptureQueriesContext(connection) as captured:
        order = place(alice, "buy", price="100", quantity="1")
    statements = [q["sql"] for q in captured.captured_queries]
    balance, command, account = Balance._meta.db_table, MatchCommand._meta.db_table, Account._meta.db_table
    locks = [i for i, sql in enumerate(statements) if f'FROM "{balance}"' in sql and "FOR UPDATE" in sql]
    assert len(locks) == 1
    before, after = statements[: locks[0]], statements[locks[0] + 1 :]
    assert any(f'INSERT INTO "{command}"' in sql for sql in before)
    assert any(f'FROM "{account}"' in sql for sql in before)  # the owners of the balance.changed events
    assert not any(command in sql or f'FROM "{account}"' in sql for sql in after)
    assert MatchCommand.objects.filter(order=order, kind="place").count() == 1
