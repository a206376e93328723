"""Referral commission: two levels of inviters get a share of the fees their invitees paid, once per day."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apps.accounts.models import AccountType, LedgerTransaction
from apps.core.errors import InvalidParameter
from apps.events.models import OutboxEvent
from apps.finance import services
from apps.finance.models import CommissionRecord
from apps.finance.selectors import commissions_of
from apps.finance.tasks import commission_settle_yesterday
from apps.trading.models import Trade

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def _trade_as_taker(place, maker, taker):
    place(maker, "sell", price="100", quantity="1")
    place(taker, "buy", price="100", quantity="1")  # taker buyer fee: 0.002 BTC
    place(maker, "buy", price="100", quantity="0.5")
    place(taker, "sell", price="100", quantity="0.5")  # taker seller fee: 50 × 0.002 = 0.1 USDT


def test_two_level_commission_is_paid_daily_from_the_fee_account(org, traders, make_user, fund, place, balance):
    alice, _ = traders
    top = make_user()
    inviter = make_user(invited_by=top)
    trader = make_user(invited_by=inviter)
    fund(trader, "USDT", "1000")
    fund(trader, "BTC", "1")
    services.commission_config_set(organization=org, level1_rate=D("0.2"), level2_rate=D("0.1"))
    _trade_as_taker(place, alice, trader)
    assert Trade.objects.filter(buyer=trader).get().buyer_fee == D("0.002")
    assert Trade.objects.filter(seller=trader).get().seller_fee == D("0.1")
    fee_before = {t: balance(organization=org, type=AccountType.FEE, token=t)[0] for t in ("BTC", "USDT")}
    today = timezone.now().astimezone(UTC).date()

    with pytest.raises(InvalidParameter):  # the day is not over yet
        services.commission_settle_day(organization=org, day=today)
    with time_machine.travel(datetime.combine(today + timedelta(days=1), time(0, 30), tzinfo=UTC)):
        assert commission_settle_yesterday.delay().get(disable_sync_subtasks=False) == {org.pk: 4}
        txs = LedgerTransaction.objects.count()
        # settled again: same records
        assert commission_settle_yesterday.delay().get(disable_sync_subtasks=False) == {org.pk: 4}
        assert LedgerTransaction.objects.count() == txs

    records = {(r.inviter_id, r.level, r.token_id): r.amount for r in CommissionRecord.objects.all()}
    assert records == {
        (inviter.pk, 1, "BTC"): D("0.0004"),
        (inviter.pk, 1, "USDT"): D("0.02"),
        (top.pk, 2, "BTC"): D("0.0002"),
        (top.pk, 2, "USDT"): D("0.01"),
    }
    assert balance(inviter, "BTC")[0] == D("0.0004") and balance(inviter, "USDT")[0] == D("0.02")
    assert balance(top, "BTC")[0] == D("0.0002") and balance(top, "USDT")[0] == D("0.01")
    assert balance(organization=org, type=AccountType.FEE, token="BTC")[0] == fee_before["BTC"] - D("0.0006")
    assert balance(organization=org, type=AccountType.FEE, token="USDT")[0] == fee_before["USDT"] - D("0.03")
    assert [r.invitee_id for r in commissions_of(inviter=inviter)] == [trader.pk, trader.pk]
    assert OutboxEvent.objects.filter(type="commission", user=top).count() == 2


def test_no_config_or_no_inviters_pays_nothing(org, traders, place):
    alice, bob = traders
    _trade_as_taker(place, alice, bob)
    today = timezone.now().astimezone(UTC).date()
    with time_machine.travel(datetime.combine(today + timedelta(days=1), time(0, 30), tzinfo=UTC)):
        assert services.commission_settle_day(organization=org, day=today) == []
        services.commission_config_set(organization=org, level1_rate=D("0.5"), level2_rate=D("0.5"))
        assert services.commission_settle_day(organization=org, day=today) == []
    assert not CommissionRecord.objects.exists()
    with pytest.raises(InvalidParameter):
        services.commission_config_set(organization=org, level1_rate=D("0.6"), level2_rate=D("0.5"))
