"""BGE API test helpers: keys, a signing client (seed 004's algorithm via apps.core.signing)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_create
from apps.core.signing import bge_sign
from apps.users.models import User


@dataclass
class BgeClient:
    """Sends requests signed as a BGE client does: timestamp + METHOD + path + ?query + body."""

    api_key: ApiKey
    secret: str
    ip: str = "127.0.0.1"
    last_ms: int = 0

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: Any = None,
        timestamp: str | None = None,
        headers: dict[str, str] | None = None,
        sign_with: str | None = None,
    ) -> Any:
        raw = body if isinstance(body, str) else (json.dumps(body) if body is not None else "")
        if timestamp is None:
            # a fresh millisecond per request: two requests signed in the same one would be a replay
            self.last_ms = max(int(time.time() * 1000), self.last_ms + 1)
            timestamp = str(self.last_ms)
        ts = timestamp
        signature = bge_sign(sign_with or self.secret, timestamp=ts, method=method, path=path, query=query, body=raw)
        sent = {"ACCESS-KEY": self.api_key.key, "ACCESS-SIGN": signature, "ACCESS-TIMESTAMP": ts}
        if headers is not None:
            sent = {k: v for k, v in {**sent, **headers}.items() if v is not None}
        return Client().generic(
            method,
            f"{path}?{query}" if query else path,
            data=raw.encode(),
            content_type="application/json",
            headers=sent,
            REMOTE_ADDR=self.ip,
        )

    def get(self, path: str, query: str = "", **kwargs: Any) -> Any:
        return self.request("GET", path, query=query, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request("POST", path, body=body, **kwargs)

    def delete(self, path: str, query: str = "", **kwargs: Any) -> Any:
        return self.request("DELETE", path, query=query, **kwargs)


@pytest.fixture
def bge_client():
    def make(user: User, permissions: tuple[str, ...] = ("read", "trade", "transfer"), ips: tuple[str, ...] = ()):
        api_key, secret = api_key_create(user=user, permissions=permissions, ip_whitelist=ips)
        return BgeClient(api_key, secret)

    return make


@pytest.fixture
def alice_bge(traders, bge_client):
    return bge_client(traders[0])


@pytest.fixture
def bob_bge(traders, bge_client):
    return bge_client(traders[1])


@pytest.fixture(autouse=True)
def _roomy_rate_limits(monkeypatch, settings):
    """Tests fire many requests a second; the rate-limit tests lower these again."""
    import apps.apikeys.auth

    monkeypatch.setattr(apps.apikeys.auth, "KEY_RATE_PER_SECOND", 1000)
    settings.BGEAPI_PUBLIC_RATE_PER_SECOND = 1000
