"""Fixtures for the BHEX OpenAPI tests: API keys and a client that signs like a BHEX SDK."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_create
from apps.core.crypto import secret_encrypt
from apps.core.signing import bhex_sign
from apps.tokens.models import Symbol, Token
from apps.users.models import User

# The reference's own example key pair (rest-api.md "SIGNED Endpoint Examples").
DOC_API_KEY = "tAQfOrPIZAhym0qHISRt8EFvxPemdBm5j5WMlkm3Ke9aFp0EGWC2CGM8GHV4kCYW"
DOC_SECRET = "lH3ELTNiFxCQTmi9pPcWWikhsjO04Yoqw3euoHUuOLC3GYBW64ZqzQsiOEHXQS76"
DOC_TIMESTAMP = 1538323200000


def now_ms() -> int:
    return int(time.time() * 1000)


class BhexClient:
    """Sends requests signed as the reference describes: HMAC over the query string + the body."""

    def __init__(self, client: Any, key: str, secret: str) -> None:
        self.client = client
        self.key = key
        self.secret = secret

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        where: str = "query",
        sign: bool = True,
        timestamp: int | None = None,
        body_params: dict[str, Any] | None = None,
        signature: str | None = None,
        key: str | None = "default",
        ip: str = "127.0.0.1",
    ) -> Any:
        """``where``: "query", "body", or "mixed" (``params`` in the query, ``body_params`` in the body)."""
        params = dict(params or {})
        if sign and "timestamp" not in params and "timestamp" not in (body_params or {}):
            params["timestamp"] = timestamp if timestamp is not None else now_ms()
        query, body = "", ""
        if where == "query":
            query = urlencode(params)
        elif where == "body":
            body = urlencode(params)
        else:
            query, body = urlencode(params), urlencode(body_params or {})
        if sign:
            sig = signature or bhex_sign(self.secret, (query + body).encode())
            if where == "body":
                body = f"{body}&signature={sig}" if body else f"signature={sig}"
            else:
                query = f"{query}&signature={sig}" if query else f"signature={sig}"
        extra: dict[str, Any] = {"REMOTE_ADDR": ip}
        api_key = self.key if key == "default" else key
        if api_key is not None:
            extra["HTTP_X_BH_APIKEY"] = api_key
        url = f"{path}?{query}" if query else path
        return self.client.generic(
            method, url, data=body.encode(), content_type="application/x-www-form-urlencoded", **extra
        )

    def get(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.request("GET", path, params, **kwargs)

    def post(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.request("POST", path, params, **kwargs)

    def put(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, params, **kwargs)

    def delete(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.request("DELETE", path, params, **kwargs)


@pytest.fixture
def make_key() -> Callable[..., tuple[ApiKey, str]]:
    def make(user: User, permissions: tuple[str, ...] = ("read", "trade"), ips: tuple[str, ...] = ()) -> Any:
        return api_key_create(user=user, permissions=permissions, ip_whitelist=ips)

    return make


@pytest.fixture
def trader(make_user, fund, btcusdt) -> User:
    user = make_user(email="bot@example.com")
    fund(user, "BTC", "10")
    fund(user, "USDT", "100000")
    return user


@pytest.fixture
def bhex(client, trader, make_key) -> BhexClient:
    api_key, secret = make_key(trader, ("read", "trade", "withdraw", "transfer"))
    return BhexClient(client, api_key.key, secret)


@pytest.fixture
def ethbtc(tokens: dict[str, Token]) -> Symbol:
    from apps.tokens.services import symbol_create

    return symbol_create(
        base=tokens["ETH"],
        quote=tokens["BTC"],
        price_tick=Decimal("0.000001"),
        quantity_step=Decimal("0.001"),
        min_quantity=Decimal("0.001"),
        max_quantity=Decimal("100000"),
        min_notional=Decimal("0.001"),
        price_band_rate=Decimal("0"),
        market_band_rate=Decimal("0"),
    )


@pytest.fixture
def doc_key(trader, ethbtc) -> ApiKey:
    """The trader's key, given the reference's example key and secret."""
    api_key, _ = api_key_create(user=trader, permissions=("read", "trade"))
    ApiKey.objects.filter(pk=api_key.pk).update(key=DOC_API_KEY, secret_encrypted=secret_encrypt(DOC_SECRET))
    api_key.refresh_from_db()
    return api_key
