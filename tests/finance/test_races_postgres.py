"""Races only a real database with row locks can show (PostgreSQL): one effect per quote, row and limit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.accounts.models import LedgerTransaction
from apps.core.errors import FinanceLimitExceeded
from apps.finance import services
from apps.finance.models import AirdropItem, ConvertPair, MappingPair, MappingRecord
from apps.trading.models import SymbolMatchState
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.django_db(transaction=True)]
D = Decimal


def test_one_quote_executed_concurrently_moves_money_once(postgres, org, btcusdt, make_user, fund, fund_operating):
    fund_operating("USDT", "100000")
    alice = make_user()
    fund(alice, "BTC", "1")
    SymbolMatchState.objects.update_or_create(symbol=btcusdt, defaults={"last_price": D("100")})
    ConvertPair.objects.create(
        organization=org, from_token_id="BTC", to_token_id="USDT", symbol=btcusdt, max_amount=D("10")
    )
    quote = services.convert_quote(user=alice, from_token="BTC", to_token="USDT", from_amount="0.5")
    before = LedgerTransaction.objects.count()

    results = run_concurrently(4, lambda i: services.convert_execute(user=alice, quote_id=quote.pk))

    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert LedgerTransaction.objects.count() == before + 1


def test_concurrent_mappings_cannot_both_pass_the_daily_limit(postgres, org, tokens, make_user, fund, fund_operating):
    fund_operating("USDT", "100000")
    alice = make_user()
    fund(alice, "ETH", "10")
    MappingPair.objects.create(
        organization=org, from_token_id="ETH", to_token_id="USDT", rate=D("10"), daily_user_limit=D("3")
    )

    results = run_concurrently(
        3, lambda i: services.mapping_execute(user=alice, from_token="ETH", to_token="USDT", amount="2")
    )

    assert sum(isinstance(r, FinanceLimitExceeded) for r in results) == 2, results
    assert MappingRecord.objects.filter(user=alice).count() == 1


def test_two_workers_on_one_batch_pay_each_row_once(postgres, org, tokens, make_user, fund_operating, monkeypatch):
    fund_operating("BTC", "1000")
    users = [make_user() for _ in range(450)]  # three chunks
    monkeypatch.setattr(services, "_queue_airdrop", lambda airdrop_id: None)  # the two "workers" below run it
    airdrop = services.airdrop_batch_create(
        organization=org,
        batch_id="race",
        token_id="BTC",
        rows=[{"uid": str(u.uid), "amount": "1"} for u in users],
    )
    results = run_concurrently(2, lambda i: services.airdrop_batch_process(airdrop_id=airdrop.pk))

    assert all(not isinstance(r, Exception) for r in results), results
    airdrop.refresh_from_db()
    assert (airdrop.status, airdrop.succeeded_rows, airdrop.processed_rows) == ("completed", 450, 450)
    assert AirdropItem.objects.filter(airdrop=airdrop, status="succeeded").count() == 450
    assert LedgerTransaction.objects.filter(reference__startswith=f"fin:airdrop:{airdrop.pk}:").count() == 450
