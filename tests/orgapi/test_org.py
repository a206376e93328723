"""Seed 001 §3.1: getInfo, getTokens, getSymbols, updateSettings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.orgapi.models import OrgApiRequest
from apps.tokens.models import OrganizationToken
from apps.users.models import Organization

pytestmark = pytest.mark.django_db


def test_get_info_has_the_org_object_and_settings(api, org):
    body = api.get("getInfo").body
    assert body["org_id"] == org.pk and body["org_name"] == "Test Broker" and body["org_type"] == "BROKER"
    assert len(str(body["updated_at"])) == 13  # milliseconds
    assert body["settings"]["trading_kyc_level"] == 0


def test_tokens_simple_and_full(api, org, tokens):
    OrganizationToken.objects.create(organization=org, token=tokens["ETH"], enabled=False)
    simple = api.get("getTokens", {"list_type": "simple"}).body
    assert [t["token_id"] for t in simple] == ["BTC", "USDT"]  # ETH switched off for this broker
    assert set(simple[0]) == {
        "org_id",
        "token_id",
        "token_name",
        "token_full_name",
        "allow_withdraw",
        "allow_deposit",
        "min_deposit_quantity",
        "updated_at",
    }
    full = api.get("getTokens").body
    assert full[0]["exchange_id"] == org.pk and full[0]["org_name"] == org.name and "icon_url" in full[0]


def test_symbols_simple_and_full(api, btcusdt):
    simple = api.get("getSymbols", {"list_type": "simple"}).body
    assert simple[0]["symbol_id"] == "BTCUSDT" and simple[0]["can_trade"] is True and "base_precision" not in simple[0]
    full = api.get("getSymbols", {"list_type": "full"}).body[0]
    assert (full["base_precision"], full["quote_precision"], full["min_price_precision"]) == (
        "0.0001",
        "0.000001",
        "0.01",
    )
    assert (full["min_trade_quantity"], full["min_trade_amount"], full["digit_merge"]) == (
        "0.0001",
        "1",
        "0.01,0.1,1,10",
    )


def test_update_settings_is_idempotent(api, org):
    params = {"client_order_id": "set-1", "withdraw_auto_approve_threshold": "0.5", "trading_kyc_level": "1"}
    first = api.post("updateSettings", params)
    assert first.status == 200
    assert first.body["settings"]["withdraw_auto_approve_threshold"] == "0.5"
    org.refresh_from_db()
    assert (org.withdraw_auto_approve_threshold, org.trading_kyc_level) == (Decimal("0.5"), 1)
    Organization.objects.filter(pk=org.pk).update(trading_kyc_level=2)  # changed meanwhile by staff
    again = api.post("updateSettings", params)
    assert again.status == 200 and again.body == first.body and again.headers["X-Idempotent-Replay"] == "true"
    org.refresh_from_db()
    assert org.trading_kyc_level == 2  # the retry did not write again
    assert OrgApiRequest.objects.filter(client_order_id="set-1").count() == 1


def test_same_client_order_id_with_other_parameters_is_refused(api, org):
    assert api.post("updateSettings", {"client_order_id": "set-1", "trading_kyc_level": "1"}).status == 200
    answer = api.post("updateSettings", {"client_order_id": "set-1", "trading_kyc_level": "3"})
    assert (answer.status, answer.code) == (400, 1103)
    org.refresh_from_db()
    assert org.trading_kyc_level == 1


def test_update_settings_validates(api, org):
    answer = api.post(
        "updateSettings",
        {"client_order_id": "set-2", "withdraw_auto_approve_threshold": "10", "withdraw_dual_approval_threshold": "5"},
    )
    assert (answer.status, answer.code) == (400, 1101)
    assert not OrgApiRequest.objects.exists()  # a refused write leaves no record: the id may be used again
    assert api.post("updateSettings", {"client_order_id": "set-2", "trading_kyc_level": "1"}).status == 200


def test_writes_need_a_client_order_id(api):
    answer = api.post("updateSettings", {"trading_kyc_level": "1"})
    assert (answer.status, answer.code) == (400, 1101)
    assert "client_order_id" in answer.body["msg"]
