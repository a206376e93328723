"""BGE API public data: products, currencies (/v1) and market data (/public/v2), seed 004's shapes."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.test import Client

from apps.trading.services import order_place

# RESPONSE EXAMPLE keys of GET /v1/products
PRODUCT_KEYS = {
    "product",
    "base_currency",
    "quote_currency",
    "display_name",
    "status",
    "maker_fees_rate",
    "taker_fees_rate",
    "quote_precision",
    "trade_precision",
    "amount_precision",
    "max_buy_price_rate",
    "max_sell_price_rate",
    "max_trade_usd_per_order",
    "min_trade_usd_per_order",
    "max_market_taker_trade_rate",
    "min_market_taker_trade_rate",
    "max_market_trade_usd_per_order",
    "min_market_trade_usd_per_order",
}
CURRENCY_KEYS = {
    "currency",
    "min_size",
    "status",
    "max_precision",
    "type",
    "deposit_status",
    "withdraw_status",
    "accuracy",
    "details",
}
CANDLE_KEYS = {"id", "open", "close", "high", "low", "vol", "count", "filled_size"}
TICKER_KEYS = {
    "id",
    "product",
    "open",
    "close",
    "high",
    "low",
    "vol",
    "count",
    "change",
    "seq_id",
    "filled_size",
    "change_percent",
}


def get(path: str) -> dict:
    response = Client().get(path)
    return {"status": response.status_code, **({"body": response.json()} if response.content else {})}


@pytest.mark.django_db
def test_products(btcusdt, org):
    listed = get("/v1/products")["body"]
    assert len(listed) == 1 and set(listed[0]) == PRODUCT_KEYS
    product = listed[0]
    assert (product["product"], product["display_name"], product["base_currency"], product["quote_currency"]) == (
        "BTC_USDT",
        "BTC_USDT",
        "BTC",
        "USDT",
    )
    assert (product["trade_precision"], product["amount_precision"], product["quote_precision"]) == ("2", "4", "6")
    assert (product["maker_fees_rate"], product["taker_fees_rate"], product["status"]) == ("0.001", "0.002", "on")
    assert get("/v1/products/BTC_USDT")["body"] == [product]  # a one-element list, as the seed shows
    assert get("/v1/products/btc_usdt")["body"] == [product]
    for unknown in ("ETH_USDT", "BTCUSDT", "BTC_"):
        answer = get(f"/v1/products/{unknown}")
        assert answer["status"] == 400 and answer["body"]["code"] == 1050


@pytest.mark.django_db
def test_currencies(tokens, org):
    listed = {c["currency"]: c for c in get("/v1/currencies")["body"]}
    assert set(listed) == {"BTC", "ETH", "USDT"}
    btc = listed["BTC"]
    assert set(btc) == CURRENCY_KEYS
    assert (btc["type"], btc["status"], btc["max_precision"], btc["accuracy"]) == ("crypto", "on", "8", "8")
    assert btc["details"] == [
        {
            "network_confirmations": "2",
            "sort_order": "1",
            "display_name": "BTC",
            "deposit_status": "on",
            "accuracy": "8",
            "withdraw_status": "on",
        }
    ]
    assert get("/v1/currencies/usdt")["body"] == [listed["USDT"]]
    unknown = get("/v1/currencies/XYZ")
    assert unknown["status"] == 400 and unknown["body"]["code"] == 1006


@pytest.fixture
def traded(traders):
    """Two trades at 100 and 101 (taker buys), and resting bids at 99.5, 99.2 and 98."""
    alice, bob = traders
    order_place(user=alice, symbol_id="BTCUSDT", side="sell", type="limit", price="100", quantity="1")
    order_place(user=alice, symbol_id="BTCUSDT", side="sell", type="limit", price="101", quantity="1")
    order_place(user=bob, symbol_id="BTCUSDT", side="buy", type="limit", price="101", quantity="2")
    for price in ("99.5", "99.2", "98"):
        order_place(user=bob, symbol_id="BTCUSDT", side="buy", type="limit", price=price, quantity="1")
    return traders


@pytest.mark.django_db(transaction=True)
def test_market_data_v2(traded):
    candles = get("/public/v2/products/BTC_USDT/candles?interval=1min")
    assert candles["status"] == 200
    body = candles["body"]
    assert body["code"] == 200 and body["message"] == "OK"
    [bar] = body["data"]
    assert set(bar) == CANDLE_KEYS
    assert (bar["open"], bar["close"], bar["high"], bar["low"], bar["vol"], bar["count"]) == (
        "100",
        "101",
        "101",
        "100",
        "2",
        2,
    )
    assert bar["filled_size"] == "201" and bar["id"] % 60 == 0 and abs(bar["id"] - time.time()) < 120
    window = f"from={bar['id']}&to={bar['id']}&size=1"
    later = f"from={bar['id'] + 60}&to={bar['id'] + 120}"
    assert get(f"/public/v2/products/BTC_USDT/candles?interval=1min&{later}")["body"]["data"] == []
    assert get(f"/public/v2/products/BTC_USDT/candles?{window}")["body"]["data"] == [bar]
    assert get("/public/v2/products/BTC_USDT/candles?interval=7min")["body"]["code"] == 1001
    assert get("/public/v2/products/BTC_USDT/candles?size=1001")["body"]["code"] == 1001

    book = get("/public/v2/products/BTC_USDT/orderbook?interval=0")["body"]
    assert set(book["data"]) == {"bids", "asks", "seq_id"}
    assert book["data"]["bids"] == [["99.5", "1"], ["99.2", "1"], ["98", "1"]] and book["data"]["asks"] == []
    grouped = get("/public/v2/products/BTC_USDT/orderbook?interval=2")["body"]["data"]  # tick 0.01 × 100 = 1
    assert grouped["bids"] == [["99", "2"], ["98", "1"]]
    assert grouped["seq_id"] == book["data"]["seq_id"] > 0
    assert get("/public/v2/products/BTC_USDT/orderbook?interval=12")["body"]["code"] == 1051

    ticker = get("/public/v2/products/BTC_USDT/ticker")["body"]["data"]
    assert set(ticker) == TICKER_KEYS
    assert (ticker["product"], ticker["open"], ticker["close"], ticker["high"], ticker["low"]) == (
        "BTC_USDT",
        "100",
        "101",
        "101",
        "100",
    )
    assert (ticker["vol"], ticker["filled_size"], ticker["count"], ticker["change"]) == ("2", "201", 2, "1")
    assert Decimal(ticker["change_percent"]) == Decimal("0.01")  # a fraction, as the seed's example
    overview = get("/public/v2/products/overview/tickers")["body"]
    assert overview["code"] == 200 and [t["product"] for t in overview["data"]] == ["BTC_USDT"]

    trades = get("/public/v2/products/BTC_USDT/trades?size=1")["body"]["data"]
    assert len(trades) == 1 and set(trades[0]) == {"vol", "ts", "price", "direction", "id"}
    assert (trades[0]["price"], trades[0]["vol"], trades[0]["direction"]) == ("101", "1", "buy")
    assert len(get("/public/v2/products/BTC_USDT/trades")["body"]["data"]) == 2
    unknown = get("/public/v2/products/DOGE_USDT/trades")
    assert unknown["status"] == 400 and unknown["body"] == {"code": 1050, "message": unknown["body"]["message"]}
