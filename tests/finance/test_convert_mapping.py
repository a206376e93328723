"""Convert (floating rate, quoted with an expiry) and mapping (staff-set fixed rate), through OPERATING."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apps.accounts.models import AccountType, LedgerTransaction
from apps.core.errors import (
    AmountBelowMinimum,
    FinanceLimitExceeded,
    OperatingBalanceInsufficient,
    PairNotOffered,
    PriceUnavailable,
    QuoteExpired,
)
from apps.events.models import OutboxEvent
from apps.finance import services
from apps.finance.models import ConvertPair, MappingPair, MappingRecord
from apps.trading.models import SymbolMatchState

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def convert_pairs(org, btcusdt):
    SymbolMatchState.objects.update_or_create(symbol=btcusdt, defaults={"last_price": D("20000")})
    common = {"organization": org, "symbol": btcusdt, "spread": D("0.01"), "min_amount": D("0")}
    sell = ConvertPair.objects.create(
        from_token_id="BTC", to_token_id="USDT", max_amount=D("2"), daily_user_limit=D("3"), **common
    )
    buy = ConvertPair.objects.create(
        from_token_id="USDT", to_token_id="BTC", max_amount=D("100000"), daily_user_limit=D("0"), **common
    )
    return sell, buy


def test_quote_and_execute_at_the_quoted_rate_once(org, convert_pairs, make_user, fund, fund_operating, balance):
    fund_operating("USDT", "100000")
    alice = make_user()
    fund(alice, "BTC", "1")
    quote = services.convert_quote(user=alice, from_token="BTC", to_token="USDT", from_amount="0.5")
    assert quote.rate == D("19800") and quote.to_amount == D("9900")
    # The market moves after the quote: execution still uses the quoted rate.
    SymbolMatchState.objects.filter(symbol_id="BTCUSDT").update(last_price=D("10000"))

    done = services.convert_execute(user=alice, quote_id=quote.pk)
    assert done.status == "executed" and done.created is True
    assert balance(alice, "BTC") == (D("0.5"), 0, 0) and balance(alice, "USDT") == (D("9900"), 0, 0)
    assert balance(organization=org, type=AccountType.OPERATING, token="BTC") == (D("0.5"), 0, 0)
    assert balance(organization=org, type=AccountType.OPERATING, token="USDT") == (D("90100"), 0, 0)
    txs = LedgerTransaction.objects.count()
    again = services.convert_execute(user=alice, quote_id=quote.pk)
    assert again.created is False and LedgerTransaction.objects.count() == txs
    assert balance(alice, "USDT") == (D("9900"), 0, 0)
    assert OutboxEvent.objects.filter(type="convert", user=alice).count() == 1


def test_quote_to_the_base_token_inverts_the_price_and_rounds_down(convert_pairs, make_user, fund, fund_operating):
    fund_operating("BTC", "1")
    alice = make_user()
    fund(alice, "USDT", "1000")
    quote = services.convert_quote(user=alice, from_token="USDT", to_token="BTC", from_amount="1000")
    # 1000 / 20000 × 0.99 = 0.0495 exactly; the rate itself is rounded down to 18 places.
    assert quote.to_amount == D("0.04950000")
    assert quote.to_amount <= D("1000") * quote.rate


def test_an_expired_quote_cannot_be_executed(convert_pairs, make_user, fund, fund_operating, balance):
    fund_operating("USDT", "100000")
    alice = make_user()
    fund(alice, "BTC", "1")
    quote = services.convert_quote(user=alice, from_token="BTC", to_token="USDT", from_amount="1")
    with time_machine.travel(timezone.now() + timedelta(seconds=11)):
        with pytest.raises(QuoteExpired):
            services.convert_execute(user=alice, quote_id=quote.pk)
    assert balance(alice, "BTC") == (D("1"), 0, 0)


def test_convert_limits_and_price_and_liquidity_checks(org, convert_pairs, make_user, fund, fund_operating, balance):
    alice = make_user()
    fund(alice, "BTC", "10")
    with pytest.raises(FinanceLimitExceeded):
        services.convert_quote(user=alice, from_token="BTC", to_token="USDT", from_amount="2.5")  # max 2 each
    with pytest.raises(PairNotOffered):
        services.convert_quote(user=alice, from_token="BTC", to_token="ETH", from_amount="1")
    # Operating has no USDT: refused, nothing moved.
    quote = services.convert_quote(user=alice, from_token="BTC", to_token="USDT", from_amount="1")
    with pytest.raises(OperatingBalanceInsufficient):
        services.convert_execute(user=alice, quote_id=quote.pk)
    assert balance(alice, "BTC") == (D("10"), 0, 0)
    fund_operating("USDT", "1000000")
    services.convert_execute(user=alice, quote_id=quote.pk)
    services.convert_execute(
        user=alice,
        quote_id=services.convert_quote(user=alice, from_token="BTC", to_token="USDT", from_amount="2").pk,
    )
    with pytest.raises(FinanceLimitExceeded):  # 3 per day, 3 used
        services.convert_quote(user=alice, from_token="BTC", to_token="USDT", from_amount="0.1")
    SymbolMatchState.objects.filter(symbol_id="BTCUSDT").update(last_price=None)
    with pytest.raises(PriceUnavailable):
        services.convert_quote(user=make_user(), from_token="BTC", to_token="USDT", from_amount="0.1")


@pytest.fixture
def mapping_pair(org, tokens):
    return MappingPair.objects.create(
        organization=org,
        from_token_id="ETH",
        to_token_id="USDT",
        rate=D("1500.5"),
        min_amount=D("0.1"),
        max_amount=D("5"),
        daily_user_limit=D("6"),
        total_user_limit=D("8"),
    )


def test_mapping_at_the_fixed_rate_with_per_user_limits(org, mapping_pair, make_user, fund, fund_operating, balance):
    fund_operating("USDT", "100000")
    alice = make_user()
    fund(alice, "ETH", "20")
    record = services.mapping_execute(
        user=alice, from_token="ETH", to_token="USDT", amount="2", client_order_id="m-1", acting_user=alice
    )
    assert record.to_amount == D("3001") and balance(alice, "USDT") == (D("3001"), 0, 0)
    again = services.mapping_execute(
        user=alice, from_token="ETH", to_token="USDT", amount="2", client_order_id="m-1", acting_user=alice
    )
    assert again.pk == record.pk and again.created is False and balance(alice, "ETH") == (D("18"), 0, 0)
    with pytest.raises(AmountBelowMinimum):
        services.mapping_execute(user=alice, from_token="ETH", to_token="USDT", amount="0.05")
    with pytest.raises(FinanceLimitExceeded):
        services.mapping_execute(user=alice, from_token="ETH", to_token="USDT", amount="5.5")  # max 5 each
    services.mapping_execute(user=alice, from_token="ETH", to_token="USDT", amount="4")
    with pytest.raises(FinanceLimitExceeded):  # 6 used today, daily limit 6
        services.mapping_execute(user=alice, from_token="ETH", to_token="USDT", amount="1")
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        services.mapping_execute(user=alice, from_token="ETH", to_token="USDT", amount="2")
        with pytest.raises(FinanceLimitExceeded):  # 8 in all, total limit 8
            services.mapping_execute(user=alice, from_token="ETH", to_token="USDT", amount="0.1")
    assert MappingRecord.objects.filter(user=alice).count() == 3
    assert balance(alice, "ETH") == (D("12"), 0, 0)
    assert balance(organization=org, type=AccountType.OPERATING, token="ETH") == (D("8"), 0, 0)
    assert OutboxEvent.objects.filter(type="mapping", user=alice).count() == 3


def test_mapping_is_refused_when_operating_cannot_pay(mapping_pair, make_user, fund, balance):
    alice = make_user()
    fund(alice, "ETH", "1")
    with pytest.raises(OperatingBalanceInsufficient):
        services.mapping_execute(user=alice, from_token="ETH", to_token="USDT", amount="1")
    assert balance(alice, "ETH") == (D("1"), 0, 0) and not MappingRecord.objects.exists()
