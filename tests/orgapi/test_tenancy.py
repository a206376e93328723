"""Tenant isolation (DESIGN.md §12): another organization's user, order, lock-up or webhook is answered
exactly like one that does not exist, nothing happens, and the attempt is logged."""

from __future__ import annotations

import logging

import pytest

from apps.events.webhooks import webhook_create
from apps.finance.services import lockup_create
from apps.orgapi.models import OrgApiRequest
from apps.trading.services import order_place
from apps.users.models import UserFreeze

pytestmark = pytest.mark.django_db

UNKNOWN_UID = 1234567890123456
SECURITY_LOG = "apps.orgapi.security"

READS = [
    ("user/getInfo", {}),
    ("user/getLoginHistory", {}),
    ("user/getInviteList", {}),
    ("user/getFavoriteList", {}),
    ("account/getInfo", {}),
    ("account/getAsset", {}),
    ("account/getBalanceFlow", {}),
    ("account/getDepositAddress", {"token_id": "BTC"}),
    ("account/getDepositHistory", {}),
    ("account/getWithdrawQuota", {"token_id": "BTC"}),
    ("account/getWithdrawHistory", {}),
    ("trade/spot/getOpenOrderList", {}),
    ("trade/spot/getHistoryOrderList", {}),
    ("trade/spot/getTradeDetailList", {}),
]
WRITES = [
    ("user/updateInfo", {"language": "ko"}),
    ("user/updateKYCInfo", {"level": "1", "country_code": "SG"}),
    ("user/frozenUser", {"frozen": "true"}),
    ("user/verifyKYC", {"passed": "true"}),
    ("user/updateFavorite", {"symbol_ids": "BTCUSDT"}),
    ("user/createOpenAPI", {}),
    ("user/sendNotice", {"title": "t", "content": "c"}),
    ("account/frozenUser", {"frozen": "true"}),
    ("account/createWithdraw", {"token_id": "BTC", "address": "bc1qexample", "amount": "0.1"}),
    ("trade/frozenUser", {"frozen": "true"}),
    (
        "trade/spot/createOrder",
        {"symbol_id": "BTCUSDT", "side": "SELL", "type": "LIMIT", "price": "1", "quantity": "1"},
    ),
    ("trade/spot/cancelOrder", {"order_id": "1"}),
    ("finance/lock", {"token_id": "BTC", "amount": "0.1"}),
    ("finance/convert", {"from_token_id": "BTC", "to_token_id": "USDT", "amount": "0.1"}),
    ("finance/mapping", {"from_token_id": "BTC", "to_token_id": "USDT", "amount": "0.1"}),
]


def refusals(caplog):
    return [r for r in caplog.records if r.name == SECURITY_LOG]


@pytest.fixture
def rich_foreigner(foreigner, fund, btcusdt):
    fund(foreigner, "BTC", "1")
    return foreigner


@pytest.mark.parametrize(("path", "extra"), READS, ids=[p for p, _ in READS])
def test_reads_of_another_organizations_user_are_not_found(api, rich_foreigner, path, extra, caplog):
    caplog.set_level(logging.WARNING, logger=SECURITY_LOG)
    foreign = api.get(path, {"uid": rich_foreigner.uid, **extra})
    unknown = api.get(path, {"uid": UNKNOWN_UID, **extra})
    assert (
        (foreign.status, foreign.body)
        == (unknown.status, unknown.body)
        == (400, {"code": 1106, "msg": "User does not exist"})
    )
    [record] = refusals(caplog)
    assert str(rich_foreigner.uid) in record.getMessage() and path.split("?")[0] in record.getMessage()


@pytest.mark.parametrize(("path", "extra"), WRITES, ids=[p for p, _ in WRITES])
def test_writes_for_another_organizations_user_do_nothing(api, rich_foreigner, bal, path, extra, caplog):
    caplog.set_level(logging.WARNING, logger=SECURITY_LOG)
    foreign = api.post(path, {"client_order_id": "x-1", "uid": rich_foreigner.uid, **extra})
    unknown = api.post(path, {"client_order_id": "x-2", "uid": UNKNOWN_UID, **extra})
    assert (
        (foreign.status, foreign.body)
        == (unknown.status, unknown.body)
        == (400, {"code": 1106, "msg": "User does not exist"})
    )
    assert len(refusals(caplog)) == 1
    assert not OrgApiRequest.objects.exists()
    assert not UserFreeze.objects.exists()
    assert bal(rich_foreigner, "BTC") == (1, 0)


def test_register_under_another_organizations_inviter(api, foreigner, caplog):
    caplog.set_level(logging.WARNING, logger=SECURITY_LOG)
    answer = api.post(
        "user/registerUser", {"client_order_id": "r", "email": "x@example.com", "inviter_uid": foreigner.uid}
    )
    assert answer.code == 1106 and len(refusals(caplog)) == 1


def test_cancel_of_another_organizations_order(api, make_user, fund, rich_foreigner, caplog):
    caplog.set_level(logging.WARNING, logger=SECURITY_LOG)
    mine = make_user()
    theirs = order_place(user=rich_foreigner, symbol_id="BTCUSDT", side="sell", type="limit", price="100", quantity="1")
    answer = api.post("trade/spot/cancelOrder", {"client_order_id": "c", "uid": mine.uid, "order_id": theirs.pk})
    missing = api.post("trade/spot/cancelOrder", {"client_order_id": "c2", "uid": mine.uid, "order_id": theirs.pk + 99})
    assert (
        (answer.status, answer.body)
        == (missing.status, missing.body)
        == (400, {"code": 1209, "msg": "Order does not exist"})
    )
    assert [r.getMessage().split(" asked for ")[1].split(" of ")[0] for r in refusals(caplog)] == [f"order {theirs.pk}"]
    assert not theirs.commands.filter(kind="cancel").exists()


def test_unlock_of_another_organizations_lockup(api, rich_foreigner, caplog):
    caplog.set_level(logging.WARNING, logger=SECURITY_LOG)
    lockup = lockup_create(user=rich_foreigner, token_id="BTC", amount="0.5", acting_user=None)
    answer = api.post("finance/unlock", {"client_order_id": "u", "lockup_id": lockup.pk})
    assert (answer.status, answer.code) == (400, 1104)
    lockup.refresh_from_db()
    assert lockup.status == "locked" and len(refusals(caplog)) == 1


def test_airdrop_to_another_organizations_user_fails_that_row(api, rich_foreigner, make_user, fund_operating, caplog):
    caplog.set_level(logging.WARNING, logger=SECURITY_LOG)
    fund_operating("BTC", "1")
    mine = make_user()
    rows = [{"uid": str(mine.uid), "amount": "0.1"}, {"uid": str(rich_foreigner.uid), "amount": "0.1"}]
    answer = api.post_json("finance/airdrop", {"client_order_id": "d", "token_id": "BTC", "rows": rows})
    assert (answer.body["total_rows"], answer.body["failed_rows"]) == (2, 1)
    assert len(refusals(caplog)) == 1


def test_another_organizations_webhook(api, other_org, caplog):
    caplog.set_level(logging.WARNING, logger=SECURITY_LOG)
    webhook, _ = webhook_create(organization=other_org, url="https://hooks.example.com/in")
    answer = api.post("webhook/delete", {"client_order_id": "w", "webhook_id": webhook.pk})
    assert (answer.status, answer.code) == (400, 1104)
    assert len(refusals(caplog)) == 1
    webhook.refresh_from_db()


def test_lists_never_show_another_organizations_rows(api, other_api, foreigner, make_user):
    UserFreeze.objects.create(user=foreigner, kind="login", reason="theirs")
    assert api.get("user/getFrozenUserList").body == []
    assert [f["uid"] for f in other_api.get("user/getFrozenUserList").body] == [str(foreigner.uid)]
