"""User API trading and market endpoints over HTTP (session cookie + CSRF)."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.reconcile import reconcile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_client(traders):
    client = Client()
    client.force_login(traders[0])
    return client


@pytest.fixture
def bob_client(traders):
    client = Client()
    client.force_login(traders[1])
    return client


def test_place_query_cancel_over_http(alice_client, bob_client):
    placed = alice_client.post(
        "/api/v1/orders",
        {
            "symbol": "BTCUSDT",
            "side": "sell",
            "type": "limit",
            "price": "100",
            "quantity": "2",
            "client_order_id": "s-1",
        },
        content_type="application/json",
    )
    assert placed.status_code == 201, placed.content
    body = placed.json()
    assert body["status"] == "new" and body["price"] == "100" and body["quantity"] == "2"
    again = alice_client.post(
        "/api/v1/orders",
        {
            "symbol": "BTCUSDT",
            "side": "sell",
            "type": "limit",
            "price": "100",
            "quantity": "2",
            "client_order_id": "s-1",
        },
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["order_id"] == body["order_id"]

    bought = bob_client.post(
        "/api/v1/orders",
        {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quote_amount": "50"},
        content_type="application/json",
    )
    assert bought.status_code == 201
    assert bought.json()["status"] == "filled" and bought.json()["executed_quantity"] == "0.5"

    order_id = body["order_id"]
    assert alice_client.get(f"/api/v1/orders/{order_id}").json()["status"] == "partially_filled"
    assert alice_client.get("/api/v1/orders/client/s-1").json()["order_id"] == order_id
    assert [o["order_id"] for o in alice_client.get("/api/v1/orders/open").json()] == [order_id]
    fills = alice_client.get("/api/v1/fills").json()
    assert [(f["side"], f["price"], f["quantity"], f["fee"], f["fee_token"], f["is_maker"]) for f in fills] == [
        ("sell", "100", "0.5", "0.05", "USDT", True)
    ]
    assert bob_client.get(f"/api/v1/orders/{order_id}").status_code == 404  # not bob's order

    canceled = alice_client.delete(f"/api/v1/orders/{order_id}")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    second = alice_client.delete(f"/api/v1/orders/{order_id}")
    assert second.status_code == 400 and second.json()["code"] == "CANCEL_REJECTED"
    history = alice_client.get("/api/v1/orders/history").json()
    assert [o["order_id"] for o in history] == [order_id]
    balances = {b["token"]: b for b in alice_client.get("/api/v1/account/balances").json()}
    assert balances["BTC"]["available"] == "9.5" and balances["BTC"]["hold"] == "0"
    assert reconcile()["ok"]


def test_cancel_all_over_http(alice_client):
    for price in ("90", "91"):
        alice_client.post(
            "/api/v1/orders",
            {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "price": price, "quantity": "1"},
            content_type="application/json",
        )
    response = alice_client.post("/api/v1/orders/cancel-all", {"symbol": "BTCUSDT"}, content_type="application/json")
    assert response.json() == {"requested": 2}
    assert alice_client.get("/api/v1/orders/open").json() == []


@pytest.mark.parametrize(
    "payload, status, code",
    [
        (
            {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "price": "100.001", "quantity": "1"},
            400,
            "PRECISION_TOO_HIGH",
        ),
        ({"symbol": "NOPE", "side": "buy", "type": "limit", "price": "1", "quantity": "1"}, 400, "UNKNOWN_SYMBOL"),
        (
            {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "price": "100000", "quantity": "100"},
            400,
            "INSUFFICIENT_BALANCE",
        ),
        ({"symbol": "BTCUSDT", "side": "sideways", "type": "limit"}, 400, "INVALID_PARAMETER"),
        ({"side": "buy"}, 400, "INVALID_PARAMETER"),
    ],
)
def test_bad_orders_get_code_and_msg(alice_client, payload, status, code):
    response = alice_client.post("/api/v1/orders", payload, content_type="application/json")
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["msg"]


def test_login_and_csrf_are_required(traders):
    anonymous = Client()
    assert anonymous.post("/api/v1/orders", {}, content_type="application/json").status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(traders[0])
    response = strict.post(
        "/api/v1/orders",
        {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "price": "100", "quantity": "1"},
        content_type="application/json",
    )
    assert response.status_code == 403 and "CSRF" in response.json()["msg"]


def test_public_market_endpoints(alice_client, bob_client, org):
    alice_client.post(
        "/api/v1/orders",
        {"symbol": "BTCUSDT", "side": "sell", "type": "limit", "price": "100", "quantity": "1"},
        content_type="application/json",
    )
    bob_client.post(
        "/api/v1/orders",
        {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "price": "100", "quantity": "0.4"},
        content_type="application/json",
    )
    public = Client()
    symbols = public.get("/api/v1/market/symbols").json()
    assert symbols[0]["symbol"] == "BTCUSDT" and symbols[0]["price_tick"] == "0.01"
    trades = public.get("/api/v1/market/trades", {"symbol": "BTCUSDT"}).json()
    assert [(t["price"], t["qty"]) for t in trades] == [("100", "0.4")]
    klines = public.get("/api/v1/market/klines", {"symbol": "BTCUSDT", "interval": "1h"}).json()
    assert klines[0][1:6] == ["100", "100", "100", "100", "0.4"]
    assert public.get("/api/v1/market/klines", {"symbol": "BTCUSDT", "interval": "7m"}).status_code == 400
    ticker = public.get("/api/v1/market/ticker", {"symbol": "BTCUSDT"}).json()
    assert ticker["last"] == "100" and ticker["volume"] == "0.4"
    assert len(public.get("/api/v1/market/ticker").json()) == 1
    depth = public.get("/api/v1/market/depth", {"symbol": "BTCUSDT", "limit": 5}).json()
    assert depth["asks"] == [["100", "0.6"]] and depth["bids"] == [] and depth["seq_id"] == 2
    book = public.get("/api/v1/market/book-ticker", {"symbol": "BTCUSDT"}).json()
    assert (book["ask_price"], book["ask_qty"], book["bid_price"]) == ("100", "0.6", "0")
    assert public.get("/api/v1/market/depth", {"symbol": "XXX"}).json()["code"] == "UNKNOWN_SYMBOL"
