"""BGE API orders and fills over HTTP (seed 004 "交易和订单"), shapes from the seed's examples."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from apps.tokens.services import symbol_set_status
from apps.trading.models import Order, Trade
from apps.users.models import FreezeKind
from apps.users.services import user_freeze

pytestmark = pytest.mark.django_db(transaction=True)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# GET /v1/orders/{order_id} RESPONSE EXAMPLE's keys
ORDER_KEYS = {
    "filled_size",
    "filled_fees",
    "filled_amount",
    "filled_average_price",
    "created_at",
    "updated_at",
    "price",
    "size",
    "product",
    "order_id",
    "funds",
    "type",
    "side",
    "status",
    "client_oid",
}
FILL_KEYS = {"product", "order_id", "liquidity", "price", "size", "fee", "created_at", "updated_at", "side"}


def limit(side: str, price: str, size: str, **extra: str) -> dict[str, str]:
    return {"product": "BTC_USDT", "side": side, "type": "limit", "price": price, "size": size, **extra}


def test_create_is_idempotent_by_client_oid_and_reads_back(alice_bge):
    request = limit("sell", "100.00", "2", stp="dc", client_oid="QZ_2020-jj")
    created = alice_bge.post("/v1/orders", request)
    assert created.status_code == 200, created.content
    body = created.json()
    assert set(body) == {"order_id", "client_oid"}
    assert body["client_oid"] == "QZ_2020-jj" and body["order_id"].isdigit()

    again = alice_bge.post("/v1/orders", request)
    assert again.json() == body
    assert Order.objects.count() == 1  # the retry placed nothing

    order = alice_bge.get(f"/v1/orders/{body['order_id']}").json()
    assert set(order) == ORDER_KEYS
    assert order["product"] == "BTC_USDT" and order["side"] == "sell" and order["type"] == "limit"
    assert (order["price"], order["size"], order["funds"]) == ("100", "2", "0")
    assert order["status"] == "1"  # resting, nothing filled
    assert ISO.match(order["created_at"]) and ISO.match(order["updated_at"])
    assert alice_bge.get("/v1/orders/single/QZ_2020-jj").json() == order

    no_cid = alice_bge.post("/v1/orders", limit("sell", "101", "1")).json()
    assert no_cid["client_oid"] == "0"  # the seed's default
    assert alice_bge.get(f"/v1/orders/{no_cid['order_id']}").json()["client_oid"] == "0"


def test_a_trade_shows_in_orders_and_fills(alice_bge, bob_bge):
    sell = alice_bge.post("/v1/orders", limit("sell", "100", "2", client_oid="ask-1")).json()
    buy = bob_bge.post("/v1/orders", {"product": "BTC_USDT", "side": "buy", "type": "market", "funds": "50"})
    assert buy.status_code == 200, buy.content
    buy_id = buy.json()["order_id"]

    maker = alice_bge.get(f"/v1/orders/{sell['order_id']}").json()
    assert maker["status"] == "2"  # partially filled
    assert (maker["filled_amount"], maker["filled_size"], maker["filled_fees"]) == ("0.5", "50", "0.05")
    assert maker["filled_average_price"] == "100"
    taker = bob_bge.get(f"/v1/orders/{buy_id}").json()
    assert (taker["type"], taker["funds"], taker["status"]) == ("market", "50", "3")

    fills = alice_bge.get("/v1/fills", query="product=BTC_USDT").json()
    assert len(fills) == 1 and FILL_KEYS <= set(fills[0])
    assert (fills[0]["liquidity"], fills[0]["side"], fills[0]["price"], fills[0]["size"], fills[0]["fee"]) == (
        "maker",
        "sell",
        "100",
        "0.5",
        "0.05",
    )
    assert fills[0]["order_id"] == sell["order_id"] and ISO.match(fills[0]["created_at"])
    bob_fill = bob_bge.get("/v1/fills", query=f"order_id={buy_id}").json()
    assert [(f["liquidity"], f["side"], f["fee"]) for f in bob_fill] == [("taker", "buy", "0.001")]
    assert alice_bge.get("/v1/fills", query="client_oid=ask-1").json() == fills
    assert alice_bge.get("/v1/fills", query="client_oid=nope").json() == []
    assert alice_bge.get("/v1/fills", query="product=BTC_USDT&limit=0").json()["code"] == 1001


def test_open_orders_filter_and_page_by_id(alice_bge, bob_bge):
    ids = [alice_bge.post("/v1/orders", limit("sell", str(100 + n), "1")).json()["order_id"] for n in range(4)]
    bob_bge.post("/v1/orders", limit("buy", "100", "1"))  # fills ids[0] completely
    open_ids = [o["order_id"] for o in alice_bge.get("/v1/orders", query="product=BTC_USDT").json()]
    assert open_ids == ids[:0:-1]  # newest first, the filled one gone
    listed = alice_bge.get("/v1/orders", query="product=BTC_USDT&limit=1").json()
    assert [o["order_id"] for o in listed] == [ids[3]]
    older = alice_bge.get("/v1/orders", query=f"after={ids[3]}").json()
    assert [o["order_id"] for o in older] == [ids[2], ids[1]]
    newer = alice_bge.get("/v1/orders", query=f"before={ids[1]}").json()
    assert [o["order_id"] for o in newer] == [ids[2], ids[3]]
    assert [o["order_id"] for o in alice_bge.get("/v1/orders", query=f"order_id={ids[2]}").json()] == [ids[2]]
    assert alice_bge.get("/v1/orders", query=f"order_id={ids[0]}").json() == []  # filled: not open
    assert bob_bge.get("/v1/orders").json() == []


def test_cancel_by_id_by_client_oid_and_all(alice_bge, bob_bge):
    first = alice_bge.post("/v1/orders", limit("sell", "100", "1", client_oid="c-1")).json()
    second = alice_bge.post("/v1/orders", limit("sell", "101", "1", client_oid="c-2")).json()
    others = [alice_bge.post("/v1/orders", limit("sell", str(110 + n), "1")).json()["order_id"] for n in range(2)]

    canceled = alice_bge.delete(f"/v1/orders/{first['order_id']}")
    assert canceled.status_code == 200 and canceled.json() == first["order_id"]
    assert alice_bge.get(f"/v1/orders/{first['order_id']}").json()["status"] == "4"
    assert alice_bge.delete(f"/v1/orders/{first['order_id']}").json()["code"] == 1061  # already canceled

    assert alice_bge.delete("/v1/orders/single/c-2").json() == second["order_id"]
    assert alice_bge.get("/v1/orders/single/c-2").json()["status"] == "4"

    assert bob_bge.delete(f"/v1/orders/{others[0]}").json()["code"] == 1059  # not bob's order
    assert alice_bge.delete("/v1/orders").json()["code"] == 1089  # product is required
    everything = alice_bge.delete("/v1/orders", query="product=BTC_USDT")
    assert everything.status_code == 200 and sorted(everything.json()) == sorted(others)
    assert alice_bge.get("/v1/orders").json() == []

    filled = alice_bge.post("/v1/orders", limit("sell", "100", "1")).json()["order_id"]
    bob_bge.post("/v1/orders", limit("buy", "100", "1"))
    assert alice_bge.delete(f"/v1/orders/{filled}").json()["code"] == 1062  # already filled


@pytest.mark.parametrize(
    ("stp", "sell_size", "buy_status", "sell_status"),
    [("cn", "1", "4", "1"), ("co", "1", "1", "4"), ("cb", "1", "4", "4"), ("dc", "2", "4", "1")],
)
def test_self_trade_prevention_modes(alice_bge, stp, sell_size, buy_status, sell_status):
    sell = alice_bge.post("/v1/orders", limit("sell", "100", sell_size)).json()["order_id"]
    buy = alice_bge.post("/v1/orders", limit("buy", "100", "1", stp=stp)).json()["order_id"]
    assert alice_bge.get(f"/v1/orders/{buy}").json()["status"] == buy_status
    assert alice_bge.get(f"/v1/orders/{sell}").json()["status"] == sell_status
    assert not Trade.objects.exists()


def _code(response) -> int:
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"code", "message"}
    return response.json()["code"]


def test_order_refusals_have_the_seeds_codes(alice_bge, traders, btcusdt):
    post = alice_bge.post
    assert _code(post("/v1/orders", {**limit("buy", "1", "1"), "product": "DOGE_USDT"})) == 1050
    assert _code(post("/v1/orders", {**limit("buy", "1", "1"), "product": "BTCUSDT"})) == 1050
    assert _code(post("/v1/orders", limit("buy", "10", "1", client_oid="has space"))) == 1091
    assert _code(post("/v1/orders", limit("buy", "10", "1", client_oid="x" * 33))) == 1091
    assert _code(post("/v1/orders", {"product": "BTC_USDT", "side": "buy", "type": "market", "size": "1"})) == 1057
    assert _code(post("/v1/orders", {"product": "BTC_USDT", "side": "buy", "type": "market", "funds": "0"})) == 1057
    assert _code(post("/v1/orders", limit("buy", "10", "0.00001"))) == 1070  # quantity step 0.0001
    assert _code(post("/v1/orders", limit("buy", "10.001", "1"))) == 1071  # price tick 0.01
    assert _code(post("/v1/orders", limit("buy", "0", "1"))) == 1073
    assert _code(post("/v1/orders", limit("buy", "10", "0"))) == 1072
    assert _code(post("/v1/orders", limit("buy", "10", "2000"))) == 1056  # max quantity 1000
    assert _code(post("/v1/orders", limit("buy", "1", "0.5"))) == 1077  # notional 0.5 < 1
    assert _code(post("/v1/orders", limit("buy", "100000", "10"))) == 1100  # 1,000,000 USDT > balance
    assert _code(post("/v1/orders", {**limit("buy", "10", "1"), "type": "stop"})) == 1001
    assert _code(post("/v1/orders", "not json")) == 1001
    assert _code(alice_bge.get("/v1/orders/999999")) == 1059
    assert _code(alice_bge.get("/v1/orders/single/none-such")) == 1059
    assert not Order.objects.exists()

    btcusdt.min_quantity = Decimal("0.01")
    btcusdt.save()
    assert _code(post("/v1/orders", limit("buy", "1000", "0.001"))) == 1054

    symbol_set_status(symbol=btcusdt, status="pause")
    assert _code(post("/v1/orders", limit("buy", "10", "1"))) == 1053
    symbol_set_status(symbol=btcusdt, status="on")
    user_freeze(user=traders[0], kind=FreezeKind.TRADE, reason="test", acting_user=None)
    assert _code(post("/v1/orders", limit("buy", "10", "1"))) == 1065
    assert not Order.objects.exists()


def test_price_band_codes(alice_bge, bob_bge, btcusdt):
    alice_bge.post("/v1/orders", limit("sell", "100", "1"))
    bob_bge.post("/v1/orders", limit("buy", "100", "1"))  # last price 100
    btcusdt.price_band_rate = Decimal("0.1")
    btcusdt.save()
    assert _code(alice_bge.post("/v1/orders", limit("buy", "80", "1"))) == 1067  # must be ≥ 90
    assert _code(alice_bge.post("/v1/orders", limit("sell", "120", "1"))) == 1068  # must be ≤ 110
