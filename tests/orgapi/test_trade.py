"""Seed 001 §3.4: orders as a user of the organization, fills, and trading freezes.

Transactional: the matching engine runs after each placement commits (in-process).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.events.models import OutboxEvent
from apps.trading.models import Order, OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)


def order(api, uid, cid, side, price="100", quantity="1", **extra):
    params = {"client_order_id": cid, "uid": uid, "symbol_id": "BTCUSDT", "side": side, "type": "LIMIT"}
    return api.post("trade/spot/createOrder", {**params, "price": price, "quantity": quantity, **extra})


def test_create_order_once(api, traders, bal):
    alice, _ = traders
    first = order(api, alice.uid, "o-1", "SELL")
    assert first.status == 200
    body = first.body
    assert (body["side"], body["type"], body["status"], body["client_order_id"]) == ("SELL", "LIMIT", "NEW", "o-1")
    assert (body["price"], body["quantity"], body["uid"]) == ("100", "1", str(alice.uid))
    again = order(api, alice.uid, "o-1", "SELL")
    assert again.body == body and again.headers["X-Idempotent-Replay"] == "true"
    assert Order.objects.filter(user=alice).count() == 1
    assert bal(alice, "BTC") == (Decimal("9"), Decimal("1"))  # held once


def test_order_rejections_have_codes(api, traders):
    alice, _ = traders
    assert order(api, alice.uid, "o-1", "SELL", symbol_id="NOPE").code == 1201
    assert order(api, alice.uid, "o-2", "SELL", price="100.001").code == 1203
    assert order(api, alice.uid, "o-3", "SELL", quantity="100").code == 1301
    assert order(api, alice.uid, "o-4", "SIDEWAYS").code == 1101
    assert not Order.objects.exists()


def test_cancel_order_once(api, traders, bal):
    alice, _ = traders
    placed = order(api, alice.uid, "o-1", "SELL").body
    params = {"client_order_id": "c-1", "uid": alice.uid, "order_id": placed["order_id"]}
    canceled = api.post("trade/spot/cancelOrder", params)
    assert canceled.status == 200
    assert Order.objects.get(pk=placed["order_id"]).status == OrderStatus.CANCELED
    assert bal(alice, "BTC") == (Decimal("10"), Decimal("0"))
    assert api.post("trade/spot/cancelOrder", params).body == canceled.body  # same answer, no second cancel
    by_client_id = api.post(
        "trade/spot/cancelOrder", {"client_order_id": "c-2", "uid": alice.uid, "order_client_order_id": "o-1"}
    )
    assert (by_client_id.status, by_client_id.code) == (400, 1210)  # already canceled


def test_order_lists_and_fills(api, traders):
    alice, bob = traders
    sell = order(api, alice.uid, "s-1", "SELL", quantity="2").body
    buy = order(api, bob.uid, "b-1", "BUY", price="101", quantity="1").body
    [open_sell] = api.get("trade/spot/getOpenOrderList", {"uid": alice.uid}).body
    assert (open_sell["order_id"], open_sell["status"], open_sell["executed_quantity"]) == (
        sell["order_id"],
        "PARTIALLY_FILLED",
        "1",
    )
    assert api.get("trade/spot/getOpenOrderList", {"uid": bob.uid}).body == []
    [done] = api.get("trade/spot/getHistoryOrderList", {"uid": bob.uid}).body
    assert (done["order_id"], done["status"], done["executed_amount"]) == (buy["order_id"], "FILLED", "100")
    [fill] = api.get("trade/spot/getTradeDetailList", {"uid": bob.uid}).body
    assert (fill["order_id"], fill["side"], fill["price"], fill["quantity"], fill["is_maker"]) == (
        buy["order_id"],
        "BUY",
        "100",
        "1",
        False,
    )
    assert fill["match_order_id"] == sell["order_id"]  # the counterparty is of the same organization
    assert api.get("trade/spot/getTradeDetailList", {"uid": bob.uid, "list_type": "simple"}).body == [fill["trade_id"]]
    # balances: the holds at placement are reported; the matching batch is not (its fills are trade.match)
    changed = OutboxEvent.objects.filter(type="balance.changed")
    assert changed.filter(user=bob, payload__kind="order_hold").exists()
    assert not changed.filter(payload__kind="trade").exists()
    assert OutboxEvent.objects.filter(type="trade.match").count() == 2


def test_counterparty_of_another_organization_is_not_named(api, traders, make_user, other_org, fund):
    alice, _ = traders
    stranger = make_user(email="stranger@example.com", organization=other_org)
    fund(stranger, "USDT", "1000")
    sell = order(api, alice.uid, "s-1", "SELL").body
    from apps.trading.services import order_place

    order_place(user=stranger, symbol_id="BTCUSDT", side="buy", type="limit", price="100", quantity="1")
    [fill] = api.get("trade/spot/getTradeDetailList", {"uid": alice.uid}).body
    assert fill["order_id"] == sell["order_id"] and fill["match_order_id"] is None


def test_trade_freeze_per_symbol(api, traders):
    alice, _ = traders
    freeze = {"client_order_id": "tf-1", "uid": alice.uid, "symbol_id": "BTCUSDT", "frozen": "true"}
    assert api.post("trade/frozenUser", freeze).body["frozen"] is True
    assert order(api, alice.uid, "o-1", "SELL").code == 1211
    api.post("trade/frozenUser", {**freeze, "client_order_id": "tf-2", "frozen": "false"})
    assert order(api, alice.uid, "o-2", "SELL").status == 200
