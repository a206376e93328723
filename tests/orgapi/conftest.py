"""Org API fixtures: organization keys and a client that signs requests like a BHEX SDK would."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from apps.accounts.reconcile import reconcile
from apps.accounts.services import manual_credit
from apps.apikeys.models import ApiKey
from apps.apikeys.services import org_api_key_create
from apps.core.signing import bhex_sign
from apps.users.models import Organization, User

PREFIX = "/api/v2/org/"
ORG_IP = "127.0.0.1"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> int | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


class OrgClient:
    """Signs each request with the key's secret: ``timestamp`` in the query, ``signature`` last."""

    def __init__(self, client: Client, api_key: ApiKey | None, secret: str, ip: str = ORG_IP) -> None:
        self.client = client
        self.api_key = api_key
        self.secret = secret
        self.ip = ip

    def _headers(self) -> dict[str, str]:
        return {"HTTP_X_BH_APIKEY": self.api_key.key} if self.api_key is not None else {}

    def _query(
        self, params: dict[str, Any] | None, body: bytes, *, sign: bool = True, timestamp: int | None = None
    ) -> str:
        query = urlencode({**(params or {}), "timestamp": timestamp or int(time.time() * 1000)})
        if sign:
            query += "&signature=" + bhex_sign(self.secret, query.encode() + body)
        return query

    @staticmethod
    def _answer(response: Any) -> Answer:
        content = response.content
        body = (
            json.loads(content)
            if content and response.get("Content-Type", "").startswith("application/json")
            else content
        )
        return Answer(response.status_code, body, dict(response.items()))

    def get(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Answer:
        query = self._query(params, b"", **kwargs)
        return self._answer(self.client.get(f"{PREFIX}{path}?{query}", REMOTE_ADDR=self.ip, **self._headers()))

    def post(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Answer:
        """A form body (the BHEX way): the signature covers the query string, then the body."""
        body = urlencode(params or {}).encode()
        query = self._query(None, body, **kwargs)
        response = self.client.post(
            f"{PREFIX}{path}?{query}",
            data=body,
            content_type="application/x-www-form-urlencoded",
            REMOTE_ADDR=self.ip,
            **self._headers(),
        )
        return self._answer(response)

    def post_json(self, path: str, params: dict[str, Any]) -> Answer:
        body = json.dumps(params).encode()
        query = self._query(None, body)
        response = self.client.post(
            f"{PREFIX}{path}?{query}",
            data=body,
            content_type="application/json",
            REMOTE_ADDR=self.ip,
            **self._headers(),
        )
        return self._answer(response)

    def post_files(self, path: str, params: dict[str, Any], files: dict[str, Any]) -> Answer:
        """Multipart: the parameters go in the signed query string, the files in the body."""
        query = self._query(params, b"")
        response = self.client.post(f"{PREFIX}{path}?{query}", data=files, REMOTE_ADDR=self.ip, **self._headers())
        return self._answer(response)


@pytest.fixture
def org_key(org: Organization) -> tuple[ApiKey, str]:
    return org_api_key_create(organization=org, ip_whitelist=[ORG_IP])


@pytest.fixture
def api(client: Client, org_key: tuple[ApiKey, str]) -> OrgClient:
    return OrgClient(client, *org_key)


@pytest.fixture
def readonly_api(client: Client, org: Organization) -> OrgClient:
    return OrgClient(client, *org_api_key_create(organization=org, ip_whitelist=[ORG_IP], read_only=True))


@pytest.fixture
def other_api(client: Client, other_org: Organization) -> OrgClient:
    return OrgClient(client, *org_api_key_create(organization=other_org, ip_whitelist=[ORG_IP]))


@pytest.fixture
def foreigner(make_user: Callable[..., User], other_org: Organization) -> User:
    """A user of another organization: every Org API call of ``org`` must treat it as unknown."""
    return make_user(email="foreigner@example.com", organization=other_org)


@pytest.fixture
def fund_operating(org: Organization) -> Callable[..., None]:
    def credit(token: str, amount: str) -> None:
        manual_credit(organization=org, token_id=token, amount=amount, reason="operating float")

    return credit


@pytest.fixture
def reconciled() -> Callable[[], None]:
    def check() -> None:
        report = reconcile()
        assert report["ok"], report

    return check


D = Decimal
