"""Signed requests as the reference's own examples send them, and every documented refusal.

Each refusal is checked to have executed nothing: no order exists afterwards.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_update
from apps.trading.models import Order
from tests.openapi.conftest import DOC_API_KEY, DOC_SECRET, DOC_TIMESTAMP, BhexClient

pytestmark = pytest.mark.django_db

QUERY = "symbol=ETHBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1538323200000"
SIGNATURE = "5f2750ad7589d1d40757a55342e621a44037dad23b5128cc70e18ec1d1c3f4c6"
MIXED_QUERY = "symbol=ETHBTC&side=BUY&type=LIMIT&timeInForce=GTC"
MIXED_BODY = "quantity=1&price=0.1&recvWindow=5000&timestamp=1538323200000"
MIXED_SIGNATURE = "885c9e3dd89ccd13408b25e6d54c2330703759d7494bea6dd5a3d1fd16ba3afa"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def at_doc_time():
    # The examples' timestamp is 2018-10-01T00:00:00+08:00; the server clock is 200 ms later.
    with time_machine.travel(datetime.fromtimestamp(DOC_TIMESTAMP / 1000, tz=UTC) + timedelta(milliseconds=200)):
        yield


def _post(client, query: str, body: str):
    url = f"/openapi/v1/order?{query}" if query else "/openapi/v1/order"
    return client.generic("POST", url, data=body.encode(), content_type=FORM, HTTP_X_BH_APIKEY=DOC_API_KEY)


@pytest.mark.parametrize(
    ("query", "body"),
    [
        pytest.param(f"{QUERY}&signature={SIGNATURE}", "", id="example-1-query-string"),
        pytest.param("", f"{QUERY}&signature={SIGNATURE}", id="example-2-request-body"),
        pytest.param(MIXED_QUERY, f"{MIXED_BODY}&signature={MIXED_SIGNATURE}", id="example-3-mixed"),
    ],
)
def test_the_references_signed_order_examples_place_the_order(client, doc_key, trader, bal, at_doc_time, query, body):
    response = _post(client, query, body)
    assert response.status_code == 200, response.content
    payload = response.json()
    assert set(payload) == {"orderId", "clientOrderId"}
    order = Order.objects.get(pk=payload["orderId"])
    assert (order.user, order.symbol_id, order.side, order.price, order.quantity) == (
        trader,
        "ETHBTC",
        "buy",
        Decimal("0.1"),
        Decimal("1"),
    )
    assert bal(trader, "BTC")[1] == Decimal("0.1")  # 1 ETH at 0.1 BTC held


def test_signature_is_not_case_sensitive(client, doc_key, at_doc_time):
    response = _post(client, f"{QUERY}&signature={SIGNATURE.upper()}", "")
    assert response.status_code == 200, response.content


def test_signature_over_reordered_parameters_is_refused(client, doc_key, at_doc_time):
    # Same parameters in another order: the bytes differ, so the reference's signature no longer fits.
    reordered = (
        "side=BUY&symbol=ETHBTC&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1538323200000"
    )
    response = _post(client, f"{reordered}&signature={SIGNATURE}", "")
    assert (response.status_code, response.json()["code"]) == (400, -1022)
    assert not Order.objects.exists()


def test_replayed_request_is_refused_and_places_nothing_twice(client, doc_key, at_doc_time):
    assert _post(client, f"{QUERY}&signature={SIGNATURE}", "").status_code == 200
    again = _post(client, "", f"{QUERY}&signature={SIGNATURE}")  # the same signed bytes, now as a body
    assert (again.status_code, again.json()["code"]) == (400, -1022)
    assert Order.objects.count() == 1


def test_stale_timestamp(client, doc_key):
    # Real clock: the 2018 timestamp is far outside recvWindow.
    response = _post(client, f"{QUERY}&signature={SIGNATURE}", "")
    assert response.status_code == 400
    assert response.json() == {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    assert not Order.objects.exists()


def test_timestamp_more_than_a_second_ahead_is_refused(bhex):
    response = bhex.get("/openapi/v1/account", timestamp=int(timezone.now().timestamp() * 1000) + 5000)
    assert response.json()["code"] == -1021


ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "20000"}


def _refused(response, code: int) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code and isinstance(body["msg"], str) and set(body) == {"code", "msg"}
    assert not Order.objects.exists()


def test_missing_api_key(bhex):
    _refused(bhex.post("/openapi/v1/order", ORDER, key=None), -1002)


def test_malformed_api_key(bhex):
    _refused(bhex.post("/openapi/v1/order", ORDER, key="not a key!"), -2014)


def test_unknown_api_key(bhex):
    _refused(bhex.post("/openapi/v1/order", ORDER, key="A" * 64), -2015)


def test_bad_signature(bhex):
    _refused(bhex.post("/openapi/v1/order", ORDER, signature="0" * 64), -1022)


def test_missing_signature(bhex):
    _refused(bhex.post("/openapi/v1/order", {**ORDER, "timestamp": bhex_now()}, sign=False), -1102)


def test_missing_timestamp(bhex):
    _refused(bhex.post("/openapi/v1/order", ORDER, sign=False), -1102)


def test_disallowed_ip(client, trader, make_key):
    api_key, secret = make_key(trader, ("read", "trade"), ips=("10.1.2.3",))
    bhex = BhexClient(client, api_key.key, secret)
    _refused(bhex.post("/openapi/v1/order", ORDER, ip="10.9.9.9"), -2015)
    assert bhex.post("/openapi/v1/order", ORDER, ip="10.1.2.3").status_code == 200


def test_missing_trade_permission(client, trader, make_key):
    api_key, secret = make_key(trader, ("read",))
    _refused(BhexClient(client, api_key.key, secret).post("/openapi/v1/order", ORDER), -2015)


def test_expired_key(bhex):
    ApiKey.objects.filter(key=bhex.key).update(expires_at=timezone.now() - timedelta(seconds=1))
    _refused(bhex.post("/openapi/v1/order", ORDER), -2015)


def test_disabled_key(bhex):
    api_key_update(api_key=ApiKey.objects.get(key=bhex.key), enabled=False)
    _refused(bhex.post("/openapi/v1/order", ORDER), -2015)


def test_form_body_and_mixed_signing_work_for_a_real_key(bhex):
    assert bhex.post("/openapi/v1/order", ORDER, where="body").status_code == 200
    response = bhex.post(
        "/openapi/v1/order",
        {"symbol": "BTCUSDT", "side": "BUY"},
        where="mixed",
        body_params={"type": "LIMIT", "quantity": "0.01", "price": "20000", "timestamp": bhex_now()},
    )
    assert response.status_code == 200, response.content
    assert Order.objects.count() == 2


def test_query_string_wins_over_the_body_and_empty_values_count_as_absent(bhex):
    response = bhex.post(
        "/openapi/v1/order",
        {"symbol": "BTCUSDT", "side": "BUY", "price": "20000", "newClientOrderId": ""},
        where="mixed",
        body_params={"side": "SELL", "type": "LIMIT", "quantity": "0.01", "timestamp": bhex_now()},
    )
    assert response.status_code == 200, response.content
    order = Order.objects.get()
    assert order.side == "buy"
    assert order.client_order_id.startswith("auto-")  # the empty newClientOrderId was ignored


def test_rate_limit_per_key_is_429_with_retry_after(bhex):

    # The limit counts per one-second window: start the eleven requests at the start of one, so
    # they cannot straddle two windows on a slow machine (the clock still runs).
    start = math.floor(time.time()) + 1.001
    with time_machine.travel(start, tick=True):
        statuses = [bhex.get("/openapi/v1/account").status_code for _ in range(10)]
        limited = bhex.get("/openapi/v1/account")
    assert statuses == [200] * 10
    assert limited.status_code == 429
    assert limited.json()["code"] == -1003
    assert int(limited["Retry-After"]) >= 1


def bhex_now() -> int:
    return int(timezone.now().timestamp() * 1000)


def test_doc_secret_matches_reference_vector():
    from apps.core.signing import bhex_sign

    assert bhex_sign(DOC_SECRET, QUERY.encode()) == SIGNATURE
    assert bhex_sign(DOC_SECRET, (MIXED_QUERY + MIXED_BODY).encode()) == MIXED_SIGNATURE


@pytest.mark.django_db(transaction=True)
def test_signed_request_through_the_asgi_server_path(bhex, trader):
    """Under ASGI (daphne) the raw query string comes from the scope: percent-encoding is verified as sent."""
    from urllib.parse import quote

    from asgiref.sync import async_to_sync
    from channels.testing import HttpCommunicator

    from apps.core.signing import bhex_sign
    from broker.asgi import django_asgi_app

    query = f"symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.01&price=20000&newClientOrderId={quote('a:b')}"
    body = f"timestamp={bhex_now()}"
    signature = bhex_sign(bhex.secret, (query + body).encode())

    async def call():
        communicator = HttpCommunicator(
            django_asgi_app,
            "POST",
            f"/openapi/v1/order?{query}",
            body=f"{body}&signature={signature}".encode(),
            headers=[
                (b"x-bh-apikey", bhex.key.encode()),
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"host", b"testserver"),
            ],
        )
        return await communicator.get_response(timeout=10)

    response = async_to_sync(call)()
    assert response["status"] == 200, response["body"]
    assert Order.objects.get().client_order_id == "a:b"
