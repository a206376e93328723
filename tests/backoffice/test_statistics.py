"""Daily statistics: the periodic task fills the tables; the Org API selectors read days from them and
compute hours and minutes on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from apps.backoffice.models import DailySymbolStatistics, DailyTokenStatistics, DailyUserStatistics
from apps.backoffice.selectors import dashboard_series, statistics_symbol, statistics_token, statistics_user
from apps.backoffice.services import statistics_day_store
from apps.backoffice.tasks import statistics_refresh
from apps.core.errors import InvalidParameter
from apps.kyc.models import KycCountry
from apps.kyc.services import kyc_application_approve, kyc_application_submit

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def market(make_user, fund, btcusdt, other_org, place, make_staff_member, django_capture_on_commit_callbacks):
    """At 09:00 alice (org) and carol (other org) are funded; at 09:30 carol sells 1 BTC to alice at 100."""
    KycCountry.objects.create(code="SG", name="Singapore")
    with time_machine.travel(T0, tick=False):
        alice = make_user(email="alice@example.com")
        carol = make_user(email="carol@example.com", organization=other_org)
        fund(alice, "USDT", "1000")
        fund(carol, "BTC", "2")
        application = kyc_application_submit(
            user=alice, level=1, country_code="SG", first_name="A", last_name="L", id_type="p", id_number="1"
        )
        kyc_application_approve(application=application, acting_user=make_staff_member("kyc-reviewer").user)
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        with django_capture_on_commit_callbacks(execute=True):  # the matching engine runs after commit
            place(carol, "sell", price="100", quantity="1")
            place(alice, "buy", price="100", quantity="1")
    return alice, carol


def test_a_day_row_per_organization_and_one_for_the_exchange(market, org, other_org):
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        statistics_day_store(day=T0.date())
    users = {r.organization_id: r for r in DailyUserStatistics.objects.filter(day=T0.date())}
    assert users[None].registrations == 2 + 0  # staff without an organization do not count
    assert (users[org.pk].registrations, users[org.pk].kyc_submitted, users[org.pk].kyc_approved) == (1, 1, 1)
    assert users[other_org.pk].kyc_submitted == 0

    symbols = {r.organization_id: r for r in DailySymbolStatistics.objects.filter(day=T0.date(), symbol="BTCUSDT")}
    exchange = symbols[None]
    assert (exchange.trade_count, exchange.trade_quantity, exchange.trade_amount) == (1, Decimal(1), Decimal(100))
    assert exchange.order_count == 2
    # alice (org) bought as taker: fee 0.2% of 1 BTC in base; carol (other org) sold as maker: 0.1% of 100 USDT.
    assert (exchange.fee_base, exchange.fee_quote) == (Decimal("0.002"), Decimal("0.1"))
    assert (symbols[org.pk].trade_count, symbols[org.pk].fee_base, symbols[org.pk].fee_quote) == (
        1,
        Decimal("0.002"),
        0,
    )
    assert (symbols[other_org.pk].trade_count, symbols[other_org.pk].fee_quote) == (1, Decimal("0.1"))

    btc = {r.organization_id: r for r in DailyTokenStatistics.objects.filter(day=T0.date(), token="BTC")}
    assert (btc[None].holders, btc[None].holdings) == (2, Decimal("1.998"))  # carol 1, alice 0.998 (fee to FEE)
    assert (btc[org.pk].holders, btc[org.pk].holdings) == (1, Decimal("0.998"))


def test_the_day_selector_reads_the_table(market, org):
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        statistics_day_store(day=T0.date())
    DailyUserStatistics.objects.filter(day=T0.date(), organization=org).update(logins=41)
    rows = statistics_user(
        organization_id=org.pk, interval="1d", start=T0 - timedelta(days=1), end=T0 + timedelta(hours=1)
    )
    assert [r.time for r in rows] == [
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
    ]
    assert rows[1].logins == 41 and rows[1].registrations == 1
    assert rows[0].registrations == 0  # a day missing from the table is computed, not guessed


def test_hour_and_minute_series_are_computed_on_demand(market, org):
    start, end = T0, T0 + timedelta(hours=2)
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        hours = statistics_symbol(organization_id=None, interval="1h", start=start, end=end, symbol_id="BTCUSDT")
        minutes = statistics_token(
            organization_id=org.pk, interval="1m", start=T0 + timedelta(minutes=29), end=T0 + timedelta(minutes=32)
        )
    assert [(r.time.hour, r.trade_count) for r in hours] == [(9, 1), (10, 0)]
    btc = [(r.time.minute, r.holders, r.holdings) for r in minutes if r.token_id == "BTC"]
    assert btc == [(29, 0, 0), (30, 1, Decimal("0.998")), (31, 1, Decimal("0.998"))]
    usdt = [(r.time.minute, r.holdings) for r in minutes if r.token_id == "USDT"]
    assert usdt == [(29, Decimal("1000")), (30, Decimal("900")), (31, Decimal("900"))]


def test_on_demand_ranges_are_bounded():
    start = timezone.now() - timedelta(hours=13)
    with pytest.raises(InvalidParameter):
        statistics_user(organization_id=None, interval="1h", start=start, end=timezone.now())
    with pytest.raises(InvalidParameter):
        statistics_user(organization_id=None, interval="5m", start=start, end=timezone.now())
    with pytest.raises(InvalidParameter):
        statistics_user(organization_id=None, interval="1d", start=datetime(2026, 1, 2), end=datetime(2026, 1, 3))


def test_the_periodic_task_refreshes_today_and_yesterday(market):
    assert settings.CELERY_BEAT_SCHEDULE["backoffice-statistics-refresh"]["task"] == (
        "apps.backoffice.tasks.statistics_refresh"
    )
    with time_machine.travel(T0 + timedelta(days=1, hours=1), tick=False):
        statistics_refresh.delay()
        days = set(DailyUserStatistics.objects.filter(organization__isnull=True).values_list("day", flat=True))
        assert days == {T0.date(), T0.date() + timedelta(days=1)}
        series = dashboard_series(days=7, organization_id=None)
    assert series["days"][-1] == (T0.date() + timedelta(days=1)).isoformat()
    assert series["users"]["registrations"][-2] == 2
    assert series["symbols"]["BTCUSDT"]["trade_amount"][-2] == "100"
