"""Seed 001 §3.5: airdrop, lock, unlock, convert and mapping through the Org API."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from apps.finance.models import Airdrop, ConvertPair, ConvertQuote, Lockup, LockupStatus, MappingPair, MappingRecord
from apps.trading.models import SymbolMatchState

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _books_balance(reconciled):
    yield
    reconciled()


@pytest.fixture
def alice(make_user, fund, tokens):
    user = make_user(email="alice@example.com")
    fund(user, "BTC", "2")
    return user


def test_airdrop_batch_once(api, org, alice, make_user, fund_operating, bal, django_capture_on_commit_callbacks):
    fund_operating("USDT", "1000")
    bob = make_user(email="bob@example.com")
    params = {
        "client_order_id": "drop-1",
        "token_id": "USDT",
        "rows": [{"uid": str(alice.uid), "amount": "10"}, {"uid": str(bob.uid), "amount": "2.5"}],
        "memo": "launch",
    }
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post_json("finance/airdrop", params)
    assert answer.status == 200
    assert (answer.body["client_order_id"], answer.body["total_rows"], answer.body["amount"]) == ("drop-1", 2, "12.5")
    assert bal(alice, "USDT") == (D("10"), D("0")) and bal(bob, "USDT") == (D("2.5"), D("0"))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post_json("finance/airdrop", params).body == answer.body
    assert Airdrop.objects.count() == 1 and bal(alice, "USDT") == (D("10"), D("0"))
    progress = api.get("finance/getAirdrop", {"client_order_id": "drop-1"}).body
    assert (progress["status"], progress["succeeded_rows"]) == ("completed", 2)


def test_single_airdrop_by_form(api, alice, fund_operating, bal, django_capture_on_commit_callbacks):
    fund_operating("USDT", "100")
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(
            "finance/airdrop", {"client_order_id": "d2", "token_id": "USDT", "uid": alice.uid, "amount": "1"}
        )
    assert answer.body["total_rows"] == 1 and bal(alice, "USDT") == (D("1"), D("0"))


def test_airdrop_refused_when_operating_cannot_pay(api, alice):
    answer = api.post("finance/airdrop", {"client_order_id": "d3", "token_id": "USDT", "uid": alice.uid, "amount": "1"})
    assert (answer.status, answer.code) == (400, 1301)
    assert not Airdrop.objects.exists()


def test_lock_and_unlock_once(api, alice, balance_of):
    unlock_at = int(time.time() * 1000) + 86_400_000
    lock = {"client_order_id": "lk-1", "uid": alice.uid, "token_id": "BTC", "amount": "0.5", "unlock_at": unlock_at}
    locked = api.post("finance/lock", lock)
    assert locked.status == 200 and locked.body["status"] == LockupStatus.LOCKED
    assert api.post("finance/lock", lock).body == locked.body
    assert Lockup.objects.count() == 1 and balance_of(alice) == (D("1.5"), D("0.5"))
    unlock = {"client_order_id": "ul-1", "lockup_id": locked.body["lockup_id"], "uid": alice.uid}
    released = api.post("finance/unlock", unlock)  # early: the broker may release before the date
    assert released.body["status"] == LockupStatus.RELEASED and balance_of(alice) == (D("2"), D("0"))
    assert api.post("finance/unlock", unlock).body == released.body


def test_unlock_of_another_users_lockup_is_not_found(api, alice, make_user, balance_of):
    locked = api.post("finance/lock", {"client_order_id": "lk-1", "uid": alice.uid, "token_id": "BTC", "amount": "1"})
    bob = make_user(email="bob@example.com")
    answer = api.post(
        "finance/unlock", {"client_order_id": "ul-1", "lockup_id": locked.body["lockup_id"], "uid": bob.uid}
    )
    assert (answer.status, answer.code) == (400, 1104)
    assert balance_of(alice) == (D("1"), D("1"))  # nothing was released


def test_convert_once(api, org, alice, btcusdt, fund_operating, bal):
    SymbolMatchState.objects.update_or_create(symbol=btcusdt, defaults={"last_price": D("20000")})
    ConvertPair.objects.create(
        organization=org, symbol=btcusdt, from_token_id="BTC", to_token_id="USDT", spread=D("0.01")
    )
    fund_operating("USDT", "100000")
    params = {"client_order_id": "cv-1", "uid": alice.uid, "from_token_id": "BTC", "to_token_id": "USDT", "amount": "1"}
    answer = api.post("finance/convert", params)
    assert answer.status == 200
    assert (answer.body["from_amount"], answer.body["to_amount"], answer.body["rate"]) == ("1", "19800", "19800")
    assert api.post("finance/convert", params).body == answer.body
    assert ConvertQuote.objects.filter(status="executed").count() == 1
    assert bal(alice, "BTC") == (D("1"), D("0")) and bal(alice, "USDT") == (D("19800"), D("0"))


def test_mapping_once(api, org, alice, tokens, fund_operating, bal):
    MappingPair.objects.create(organization=org, from_token_id="BTC", to_token_id="ETH", rate=D("15"))
    fund_operating("ETH", "100")
    params = {
        "client_order_id": "mp-1",
        "uid": alice.uid,
        "from_token_id": "BTC",
        "to_token_id": "ETH",
        "amount": "0.2",
    }
    answer = api.post("finance/mapping", params)
    assert (answer.body["to_amount"], answer.body["rate"], answer.body["client_order_id"]) == ("3", "15", "mp-1")
    assert api.post("finance/mapping", params).body == answer.body
    assert MappingRecord.objects.count() == 1 and bal(alice, "ETH") == (D("3"), D("0"))


@pytest.fixture
def balance_of():
    from apps.accounts.models import AccountType, Balance

    def read(user, token="BTC"):  # noqa: S107 - a token id
        row = Balance.objects.get(account__user=user, account__type=AccountType.SPOT, account__index=0, token_id=token)
        return row.available, row.lockup

    return read
