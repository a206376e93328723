"""BGE API signed-request checks (seed 004 鉴权说明, 用户认证错误码对照表): every refusal has its
documented code and HTTP 401, and nothing runs after a refusal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_update
from apps.trading.models import Order
from apps.users.models import FreezeKind
from apps.users.services import user_freeze

pytestmark = pytest.mark.django_db

ORDER = {"product": "BTC_USDT", "side": "buy", "type": "limit", "price": "2.00", "size": "3.3", "client_oid": "QZ-1"}


def java_create_sign(method: str, secret: str, path: str, query: str, body: str, timestamp: str) -> str:
    """The seed's OpenAPiUtils.createSign, transcribed line by line (independent of apps.core.signing)."""
    method = method.upper()
    if method in ("GET", "DELETE", ""):
        body = ""
    query = "" if not query else "?" + query
    pre_hash = timestamp + method + path + query + body
    return base64.b64encode(
        hmac.new(secret.encode("utf-8"), pre_hash.encode("utf-8"), hashlib.sha256).digest()
    ).decode()


def test_a_request_signed_like_the_seeds_java_client_is_accepted(alice_bge):
    timestamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".339Z"  # Instant.now().toString()
    body = json.dumps(ORDER)
    sign = java_create_sign("POST", alice_bge.secret, "/v1/orders", "", body, timestamp)
    response = Client().post(
        "/v1/orders",
        data=body,
        content_type="application/json",
        headers={"ACCESS-KEY": alice_bge.api_key.key, "ACCESS-SIGN": sign, "ACCESS-TIMESTAMP": timestamp},
    )
    assert response.status_code == 200, response.content
    assert response.json()["client_oid"] == "QZ-1"
    ms = str(int(time.time() * 1000))  # the millisecond form, on a GET with a query string
    sign = java_create_sign("GET", alice_bge.secret, "/v1/orders", "product=BTC_USDT&limit=10", "", ms)
    listed = Client().get(
        "/v1/orders?product=BTC_USDT&limit=10",
        headers={"ACCESS-KEY": alice_bge.api_key.key, "ACCESS-SIGN": sign, "ACCESS-TIMESTAMP": ms},
    )
    assert listed.status_code == 200 and len(listed.json()) == 1


def _refused(response, code: int, message: str | None = None) -> None:
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["code"] == code
    if message is not None:
        assert body["message"] == message
    assert set(body) == {"code", "message"}


@pytest.mark.parametrize(
    ("headers", "code", "message"),
    [
        ({"ACCESS-KEY": None}, 40001, "ACCESS_KEY不能为空"),
        ({"ACCESS-SIGN": None}, 40002, "ACCESS_SIGN不能为空"),
        ({"ACCESS-TIMESTAMP": None}, 40003, "ACCESS_TIMESTAMP不能为空"),
        ({"ACCESS-TIMESTAMP": "yesterday"}, 40005, "无效的ACCESS_TIMESTAMP"),
        ({"ACCESS-KEY": "x" * 64}, 40006, "无效的ACCESS_KEY"),
        ({"ACCESS-SIGN": "bm90IGEgc2lnbmF0dXJl"}, 40010, "API 校验失败"),
    ],
)
def test_missing_or_wrong_credentials_place_nothing(alice_bge, headers, code, message):
    _refused(alice_bge.post("/v1/orders", ORDER, headers=headers), code, message)
    assert not Order.objects.exists()


def test_stale_and_future_timestamps_are_expired(alice_bge):
    old = str(int(time.time() * 1000) - 31_000)
    future = str(int(time.time() * 1000) + 31_000)
    _refused(alice_bge.post("/v1/orders", ORDER, timestamp=old), 40008, "请求时间戳过期")
    _refused(alice_bge.post("/v1/orders", ORDER, timestamp=future), 40008)
    assert not Order.objects.exists()


def test_a_signature_over_other_bytes_is_refused(alice_bge):
    # signed with another secret; signed body differs from the sent one; path differs
    _refused(alice_bge.post("/v1/orders", ORDER, sign_with="another secret"), 40010)
    ts = str(int(time.time() * 1000))
    from apps.core.signing import bge_sign

    sign = bge_sign(alice_bge.secret, timestamp=ts, method="POST", path="/v1/orders", body=json.dumps(ORDER))
    tampered = json.dumps({**ORDER, "size": "33"})
    response = Client().post(
        "/v1/orders",
        data=tampered,
        content_type="application/json",
        headers={"ACCESS-KEY": alice_bge.api_key.key, "ACCESS-SIGN": sign, "ACCESS-TIMESTAMP": ts},
    )
    _refused(response, 40010)
    assert not Order.objects.exists()


def test_a_replayed_request_is_refused_and_places_nothing_twice(alice_bge):
    ts = str(int(time.time() * 1000))
    first = alice_bge.post("/v1/orders", {**ORDER, "client_oid": "replay-1"}, timestamp=ts)
    assert first.status_code == 200
    second = alice_bge.post("/v1/orders", {**ORDER, "client_oid": "replay-1"}, timestamp=ts)
    _refused(second, 40010)
    assert Order.objects.count() == 1


def test_ip_whitelist(bge_client, traders):
    listed = bge_client(traders[0], ips=("203.0.113.7",))
    _refused(listed.post("/v1/orders", ORDER), 40015, "无效的IP请求")
    listed.ip = "203.0.113.7"
    assert listed.post("/v1/orders", ORDER).status_code == 200


def test_missing_permission_executes_nothing(bge_client, traders):
    read_only = bge_client(traders[0], permissions=("read",))
    _refused(read_only.post("/v1/orders", ORDER), 40012, "无效的API用户")
    _refused(read_only.post("/v1/withdrawals/account", {"amount": "1", "currency": "USDT"}), 40012)
    assert not Order.objects.exists()
    assert read_only.get("/v1/accounts").status_code == 200  # reading is allowed


def test_disabled_and_expired_keys(alice_bge):
    api_key_update(api_key=alice_bge.api_key, enabled=False)
    _refused(alice_bge.get("/v1/accounts"), 40013, "用户已禁止")
    api_key_update(api_key=alice_bge.api_key, enabled=True)
    ApiKey.objects.filter(pk=alice_bge.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _refused(alice_bge.post("/v1/orders", ORDER), 40016, "API_KEY已过期")
    assert not Order.objects.exists()


def test_key_rate_limit_is_429_with_retry_after(alice_bge, monkeypatch):
    import apps.apikeys.auth

    monkeypatch.setattr(apps.apikeys.auth, "KEY_RATE_PER_SECOND", 10)
    with time_machine.travel(time.time(), tick=False):
        answers = [alice_bge.get("/v1/accounts", query=f"n={n}") for n in range(11)]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    limited = answers[10]
    assert limited.status_code == 429
    assert limited.json() == {"code": 1049, "message": "用户请求接口过于频繁"}
    assert int(limited["Retry-After"]) >= 1


def test_failed_authentications_cool_the_ip_off(alice_bge):
    for _ in range(30):
        alice_bge.get("/v1/accounts", sign_with="wrong")
    blocked = alice_bge.get("/v1/accounts")  # even a correct request now waits out the minute
    assert blocked.status_code == 429 and blocked.json()["code"] == 1049
    assert int(blocked["Retry-After"]) >= 1


def test_public_endpoints_are_limited_per_ip(settings, btcusdt, org):
    settings.BGEAPI_PUBLIC_RATE_PER_SECOND = 3
    with time_machine.travel(time.time(), tick=False):
        codes = [Client().get("/v1/products").status_code for _ in range(4)]
        other_ip = Client().get("/v1/products", REMOTE_ADDR="198.51.100.1").status_code
    assert codes == [200, 200, 200, 429]
    assert other_ip == 200


def test_a_user_whose_login_is_frozen_is_refused(alice_bge, traders):
    user_freeze(user=traders[0], kind=FreezeKind.LOGIN, reason="test", acting_user=None)
    _refused(alice_bge.post("/v1/orders", ORDER), 40014, "用户已冻结")
    assert not Order.objects.exists()
