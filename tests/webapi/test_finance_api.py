"""User API finance endpoints over HTTP: lock-ups, convert, mapping, bonuses, referral commission."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Balance
from apps.accounts.reconcile import reconcile
from apps.accounts.services import manual_credit
from apps.finance import services
from apps.finance.models import ConvertPair, MappingPair
from apps.trading.models import SymbolMatchState

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _reconciled():
    yield
    report = reconcile()
    assert report["ok"], report


@pytest.fixture
def alice(tokens, make_user, fund):
    user = make_user()
    fund(user, "BTC", "2")
    fund(user, "USDT", "1000")
    return user


@pytest.fixture
def client_of():
    def login(user):
        client = Client()
        client.force_login(user)
        return client

    return login


def _available(user, token):
    row = Balance.objects.filter(account__user=user, account__index=0, account__type="spot", token_id=token).first()
    return row.available if row else D(0)


def test_lockup_create_list_and_release(alice, client_of):
    client = client_of(alice)
    unlock_at = timezone.now() + timedelta(days=1)
    created = client.post(
        "/api/v1/finance/lockups",
        {"token": "BTC", "amount": "0.5", "unlock_at": int(unlock_at.timestamp() * 1000), "client_order_id": "lk-1"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["amount"] == "0.5" and body["status"] == "locked" and body["source"] == "user"
    again = client.post(
        "/api/v1/finance/lockups",
        {"token": "BTC", "amount": "0.5", "client_order_id": "lk-1"},
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["lockup_id"] == body["lockup_id"]
    assert [r["lockup_id"] for r in client.get("/api/v1/finance/lockups").json()] == [body["lockup_id"]]

    early = client.post(f"/api/v1/finance/lockups/{body['lockup_id']}/release")
    assert early.status_code == 409 and early.json()["code"] == "LOCKUP_NOT_DUE"
    with time_machine.travel(unlock_at + timedelta(seconds=1)):
        released = client.post(f"/api/v1/finance/lockups/{body['lockup_id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert _available(alice, "BTC") == D("2")

    too_much = client.post("/api/v1/finance/lockups", {"token": "BTC", "amount": "5"}, content_type="application/json")
    assert too_much.status_code == 400 and too_much.json()["code"] == "INSUFFICIENT_BALANCE"


def test_convert_quote_and_execute(org, btcusdt, make_user, alice, client_of):
    manual_credit(organization=org, token_id="USDT", amount="100000", reason="float")
    SymbolMatchState.objects.update_or_create(symbol=btcusdt, defaults={"last_price": D("30000")})
    ConvertPair.objects.create(
        organization=org,
        from_token_id="BTC",
        to_token_id="USDT",
        symbol=btcusdt,
        spread=D("0.002"),
        max_amount=D("10"),
    )
    client = client_of(alice)
    assert client.get("/api/v1/finance/convert/pairs").json()[0]["from_token"] == "BTC"
    quote = client.post(
        "/api/v1/finance/convert/quote",
        {"from_token": "BTC", "to_token": "USDT", "from_amount": "0.1"},
        content_type="application/json",
    )
    assert quote.status_code == 201, quote.content
    assert quote.json()["to_amount"] == "2994" and quote.json()["rate"] == "29940"
    quote_id = int(quote.json()["quote_id"])
    for _ in range(2):
        executed = client.post(
            "/api/v1/finance/convert/execute", {"quote_id": quote_id}, content_type="application/json"
        )
        assert executed.status_code == 200 and executed.json()["status"] == "executed"
    assert _available(alice, "USDT") == D("3994") and _available(alice, "BTC") == D("1.9")

    stale = client.post(
        "/api/v1/finance/convert/quote",
        {"from_token": "BTC", "to_token": "USDT", "from_amount": "0.1"},
        content_type="application/json",
    ).json()
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        expired = client.post(
            "/api/v1/finance/convert/execute", {"quote_id": int(stale["quote_id"])}, content_type="application/json"
        )
    assert expired.status_code == 409 and expired.json()["code"] == "QUOTE_EXPIRED"

    someone_else = client_of(make_user())
    theirs = someone_else.post(
        "/api/v1/finance/convert/execute", {"quote_id": quote_id}, content_type="application/json"
    )
    assert theirs.status_code == 404


def test_mapping_execute_and_list(org, tokens, alice, client_of):
    manual_credit(organization=org, token_id="ETH", amount="10", reason="float")
    MappingPair.objects.create(
        organization=org, from_token_id="USDT", to_token_id="ETH", rate=D("0.0005"), max_amount=D("500")
    )
    client = client_of(alice)
    assert client.get("/api/v1/finance/mapping/pairs").json()[0]["rate"] == "0.0005"
    payload = {"from_token": "USDT", "to_token": "ETH", "amount": "200", "client_order_id": "mp-1"}
    first = client.post("/api/v1/finance/mappings", payload, content_type="application/json")
    assert first.status_code == 201 and first.json()["to_amount"] == "0.1"
    second = client.post("/api/v1/finance/mappings", payload, content_type="application/json")
    assert second.status_code == 200 and second.json()["mapping_id"] == first.json()["mapping_id"]
    over = client.post(
        "/api/v1/finance/mappings",
        {"from_token": "USDT", "to_token": "ETH", "amount": "600"},
        content_type="application/json",
    )
    assert over.status_code == 400 and over.json()["code"] == "FINANCE_LIMIT_EXCEEDED"
    assert len(client.get("/api/v1/finance/mappings").json()) == 1
    assert _available(alice, "ETH") == D("0.1") and _available(alice, "USDT") == D("800")


def test_bonus_and_commission_lists_show_only_the_users_own(org, tokens, make_user, alice, client_of):
    manual_credit(organization=org, token_id="USDT", amount="100", reason="float")
    services.bonus_grant(user=alice, token_id="USDT", amount="10", withdrawable=False, memo="welcome")
    services.bonus_grant(user=make_user(), token_id="USDT", amount="5", withdrawable=True)
    client = client_of(alice)
    bonuses = client.get("/api/v1/finance/bonuses").json()
    assert [(b["amount"], b["withdrawable"], b["status"], b["memo"]) for b in bonuses] == [
        ("10", False, "granted", "welcome")
    ]
    assert client.get("/api/v1/finance/commissions").json() == []
    assert Client().get("/api/v1/finance/bonuses").status_code in (401, 403)
