"""The outbox and the organization feed: numbering at delivery, the sweeper, balance.changed, feed bodies."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from apps.accounts.services import manual_credit
from apps.core.db import RawJson
from apps.events.delivery import deliver
from apps.events.feed import DEFAULT_TYPES, feed_body, org_event_type, types_clean
from apps.events.models import OrgFeedCounter, OutboxEvent
from apps.events.selectors import org_feed_read
from apps.events.services import event_emit, events_emit_rows
from apps.events.tasks import sweep_undelivered

pytestmark = pytest.mark.django_db


def emit(org, n=1, type="user.login", user=None):
    return [event_emit(type=type, organization_id=org.pk, user=user, payload={"n": i}).pk for i in range(n)]


def test_feed_numbers_are_given_at_delivery_per_organization(org, other_org):
    mine = emit(org, 3)
    theirs = emit(other_org, 2)
    assert not OutboxEvent.objects.filter(org_seq__isnull=False).exists()
    # delivered out of insert order: numbers follow delivery (= commit) order, without holes
    assert deliver([mine[2], theirs[1]]) == 2
    assert deliver(mine + theirs) == 3
    seqs = dict(OutboxEvent.objects.filter(pk__in=mine + theirs).values_list("pk", "org_seq"))
    assert [seqs[pk] for pk in mine] == [2, 3, 1]
    assert [seqs[pk] for pk in theirs] == [2, 1]
    assert OrgFeedCounter.objects.get(organization=org).last_seq == 3
    assert deliver(mine) == 0  # already delivered: nothing numbered or sent again


def test_sweeper_redelivers_what_was_not_delivered(org):
    ids = emit(org, 2)
    assert sweep_undelivered() == 0  # too young: its delivery task may still be on the way
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert sweep_undelivered() == 2
    assert not OutboxEvent.objects.filter(pk__in=ids, delivered_at__isnull=True).exists()


def test_feed_read_skips_other_types_but_advances(org):
    ids = emit(org, 2, type="user.login") + emit(org, 1, type="user.register")
    deliver(ids)
    bodies, cursor = org_feed_read(organization_id=org.pk, after_seq=0, types=frozenset({"org.userRegister"}))
    assert [b["event_type"] for b in bodies] == ["org.userRegister"] and cursor == 3
    assert org_feed_read(organization_id=org.pk, after_seq=3, types=DEFAULT_TYPES) == ([], 3)


def test_balance_changed_for_user_balances_only(org, make_user, tokens):
    user = make_user()
    manual_credit(user=user, token_id="USDT", amount="5", reason="test")
    manual_credit(organization=org, token_id="USDT", amount="7", reason="operating float")
    [event] = OutboxEvent.objects.filter(type="balance.changed")  # the user's; not CUSTODY nor OPERATING
    assert event.user_id == user.pk and event.organization_id == org.pk
    assert (event.payload["token"], event.payload["available"], event.payload["total"]) == ("USDT", "5", "5")
    assert event.payload["kind"] == "manual_credit" and event.payload["account_type"] == "spot"
    assert org_event_type(event.type, event.payload) == "org.userBalanceChanged"


def test_matching_rows_with_raw_json_payloads(org, make_user):
    user = make_user()
    ids = events_emit_rows([("trade.match", org.pk, user.pk, RawJson('{"trade_id": "7", "symbol": "BTCUSDT"}'))])
    event = OutboxEvent.objects.get(pk=ids[0])
    assert event.payload == {"trade_id": "7", "symbol": "BTCUSDT"}
    deliver(ids)
    event.refresh_from_db()
    body = feed_body(event)
    assert body["event_type"] == "org.tradeMatch"
    assert body["event"] == {"trade_id": 7, "symbol_id": "BTCUSDT", "uid": str(user.uid)}
    assert body["event_id"] == 1


def test_event_names_follow_seed_001():
    assert org_event_type("airdrop", {"stage": "created"}) == "org.airdrop"
    assert org_event_type("airdrop", {"stage": "received"}) == "org.userReceiveAirdrop"
    assert org_event_type("order.update", {"status": "canceled"}) == "org.cancelOrder"
    assert org_event_type("order.update", {"status": "new"}) == "org.placeOrder"
    assert org_event_type("deposit.credited", {}) == "org.userDepositNotice"
    assert "org.placeOrder" not in types_clean(None)  # order events are opt-in (seed 001 §4.3)
    assert "org.placeOrder" in types_clean(["org.placeOrder"])


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_number_without_holes_or_duplicates(postgres, org):
    ids = emit(org, 60)
    chunks = [ids[i::3] for i in range(3)] + [ids]  # overlapping deliveries race for the same rows
    errors: list[BaseException] = []

    def run(chunk: list[int]) -> None:
        try:
            deliver(chunk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    seqs = sorted(OutboxEvent.objects.filter(pk__in=ids).values_list("org_seq", flat=True))
    assert seqs == list(range(1, 61))
    assert OutboxEvent.objects.filter(pk__in=ids, attempts=1).count() == 60
    assert Decimal(OrgFeedCounter.objects.get(organization=org).last_seq) == 60
