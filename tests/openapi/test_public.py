"""Public endpoints: general and market data, with the reference's response shapes."""

from __future__ import annotations

import pytest

from apps.openapi import auth

pytestmark = pytest.mark.django_db


def get(client, path: str, **params):
    return client.get(path, params, REMOTE_ADDR="10.0.0.7")


def test_ping_and_time_at_every_route_alias(client):
    for path in ("/openapi/v1/ping", "/openapi/ping"):
        response = get(client, path)
        assert response.status_code == 200 and response.json() == {}
    for path in ("/openapi/v1/time", "/openapi/time"):
        body = get(client, path).json()
        assert set(body) == {"serverTime"} and isinstance(body["serverTime"], int)


def test_broker_info_lists_symbols_with_filters_and_the_enforced_rate_limits(client, btcusdt, org):
    body = get(client, "/openapi/v1/brokerInfo").json()
    assert set(body) == {"timezone", "serverTime", "rateLimits", "brokerFilters", "symbols"}
    assert body["timezone"] == "UTC" and body["brokerFilters"] == []
    assert body["rateLimits"] == [
        {"rateLimitType": "REQUESTS_WEIGHT", "interval": "MINUTE", "limit": auth.PUBLIC_WEIGHT_PER_MINUTE},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "limit": 10},
    ]
    (symbol,) = body["symbols"]
    assert symbol == {
        "symbol": "BTCUSDT",
        "status": "TRADING",
        "baseAsset": "BTC",
        "baseAssetPrecision": "0.0001",
        "quoteAsset": "USDT",
        "quotePrecision": "0.000001",
        "icebergAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "100000000", "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.0001", "maxQty": "1000", "stepSize": "0.0001"},
            {"filterType": "MIN_NOTIONAL", "minNotional": "1"},
        ],
    }


def test_pairs_use_the_references_naming(client, btcusdt, org):
    # The reference's example: {"symbol": "LTCBTC", "quoteToken": "LTC", "baseToken": "BTC"}.
    assert get(client, "/openapi/v1/pairs").json() == [{"symbol": "BTCUSDT", "quoteToken": "BTC", "baseToken": "USDT"}]


@pytest.fixture
def book(traders, place, org):
    alice, bob = traders
    place(alice, "sell", price="101", quantity="1")
    place(alice, "sell", price="101.5", quantity="2")
    place(bob, "buy", price="99", quantity="1.5")
    place(bob, "buy", price="99.5", quantity="0.5")
    place(bob, "buy", price="101", quantity="0.25")  # trades 0.25 @ 101
    return alice, bob


@pytest.mark.django_db(transaction=True)
def test_depth_trades_tickers_and_klines(client, book):
    depth = get(client, "/openapi/quote/v1/depth", symbol="BTCUSDT").json()
    assert depth == {"bids": [["99.5", "0.5"], ["99", "1.5"]], "asks": [["101", "0.75"], ["101.5", "2"]]}
    assert get(client, "/openapi/quote/v1/depth", symbol="BTCUSDT", limit=1).json()["bids"] == [["99.5", "0.5"]]

    merged = get(client, "/openapi/quote/v1/depth/merged", symbol="BTCUSDT", scale=0).json()
    assert merged == {"bids": [["99", "2"]], "asks": [["101", "0.75"], ["102", "2"]]}

    (trade,) = get(client, "/openapi/quote/v1/trades", symbol="BTCUSDT").json()
    assert set(trade) == {"price", "qty", "time", "isBuyerMaker"}
    assert (trade["price"], trade["qty"], trade["isBuyerMaker"]) == ("101", "0.25", False)

    (kline,) = get(client, "/openapi/quote/v1/klines", symbol="BTCUSDT", interval="1m").json()
    assert len(kline) == 11
    assert isinstance(kline[0], int) and isinstance(kline[6], int) and kline[6] == kline[0] + 59_999
    assert kline[1:6] == ["101", "101", "101", "101", "0.25"]
    assert kline[7] == "25.25" and kline[8] == 1

    one = get(client, "/openapi/quote/v1/ticker/24hr", symbol="BTCUSDT").json()
    assert set(one) == {
        "time",
        "symbol",
        "bestBidPrice",
        "bestAskPrice",
        "lastPrice",
        "openPrice",
        "highPrice",
        "lowPrice",
        "volume",
    }
    assert (one["lastPrice"], one["bestBidPrice"], one["bestAskPrice"], one["volume"]) == ("101", "99.5", "101", "0.25")
    (every,) = get(client, "/openapi/quote/v1/ticker/24hr").json()
    assert set(every) == {"time", "symbol", "lastPrice", "openPrice", "highPrice", "lowPrice", "volume"}

    assert get(client, "/openapi/quote/v1/ticker/price", symbol="BTCUSDT").json() == {"price": "101"}
    assert get(client, "/openapi/quote/v1/ticker/price").json() == [{"symbol": "BTCUSDT", "price": "101"}]

    book_ticker = {"symbol": "BTCUSDT", "bidPrice": "99.5", "bidQty": "0.5", "askPrice": "101", "askQty": "0.75"}
    assert get(client, "/openapi/quote/v1/ticker/bookTicker", symbol="BTCUSDT").json() == book_ticker
    assert get(client, "/openapi/quote/v1/ticker/bookTicker").json() == [book_ticker]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/openapi/quote/v1/depth", {}, -1102),
        ("/openapi/quote/v1/depth", {"symbol": "NOPE"}, -1121),
        ("/openapi/quote/v1/klines", {"symbol": "BTCUSDT"}, -1102),
        ("/openapi/quote/v1/klines", {"symbol": "BTCUSDT", "interval": "7m"}, -1120),
        ("/openapi/quote/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "x"}, -1130),
        ("/openapi/quote/v1/depth/merged", {"symbol": "BTCUSDT", "scale": 5}, -1130),
        ("/openapi/quote/v1/ticker/price", {"symbol": "NOPE"}, -1121),
    ],
)
def test_bad_parameters_get_their_documented_codes(client, btcusdt, org, path, params, code):
    response = get(client, path, **params)
    assert response.status_code == 400
    assert response.json()["code"] == code and set(response.json()) == {"code", "msg"}


def test_empty_parameters_count_as_absent(client, btcusdt, org):
    assert get(client, "/openapi/quote/v1/ticker/price", symbol="").status_code == 200  # all symbols
    assert get(client, "/openapi/quote/v1/depth", symbol="BTCUSDT", limit="").status_code == 200


def test_public_weight_limit_per_ip_is_429_with_retry_after(client, btcusdt, org, monkeypatch):
    monkeypatch.setattr(auth, "PUBLIC_WEIGHT_PER_MINUTE", 45)
    assert get(client, "/openapi/quote/v1/ticker/24hr").status_code == 200  # weight 40
    assert get(client, "/openapi/quote/v1/ticker/price").status_code == 200  # 41
    limited = get(client, "/openapi/quote/v1/ticker/24hr")  # 81 > 45
    assert limited.status_code == 429
    assert limited.json()["code"] == -1003
    assert 1 <= int(limited["Retry-After"]) <= 60
    # another address has its own budget
    assert client.get("/openapi/quote/v1/ticker/price", REMOTE_ADDR="10.0.0.8").status_code == 200


def test_unexpected_failure_is_500_with_code_minus_1001(client, btcusdt, org, monkeypatch):
    from apps.openapi import public

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(public.market, "depth", broken)
    response = get(client, "/openapi/quote/v1/depth", symbol="BTCUSDT")
    assert response.status_code == 500
    assert response.json() == {
        "code": -1001,
        "msg": "Internal error; unable to process your request. Please try again.",
    }


def test_any_accept_header_gets_json(client, org):
    response = client.get("/openapi/v1/time", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")


def test_wrong_method_gets_a_bhex_error(client, org):
    response = client.post("/openapi/v1/time")
    assert response.status_code == 400 and response.json()["code"] == -1020
