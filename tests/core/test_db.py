"""The set-based row writers of ``apps.core.db`` (COPY / unnest on PostgreSQL, the ORM elsewhere)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from apps.core.db import RawJson, insert_rows, reserve_ids, update_rows
from apps.events.models import OutboxEvent
from apps.tokens.models import Token

pytestmark = pytest.mark.django_db

# Characters that COPY text and array literals must escape, and some that they must not mangle.
AWKWARD = 't\tl\nr\rb\\q"{x},NULL \\N é中😀'  # fits a 64-character column


def test_insert_rows_round_trips_awkward_values_and_returns_the_ids(org):
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)  # given values win over auto_now_add
    payloads = [{"text": AWKWARD, "n": 1, "nested": [None, True, 1.5]}, RawJson('{"raw": "a\\\\b\\"c\\n", "x": [1]}')]
    ids = insert_rows(
        OutboxEvent,
        ("type", "organization_id", "user_id", "payload"),
        [(AWKWARD, org.pk, None, payloads[0]), ("plain", None, None, payloads[1])],
        constants={"created_at": when, "attempts": 0},
    )
    assert len(ids) == 2 and ids[0] < ids[1]
    first, second = OutboxEvent.objects.get(pk=ids[0]), OutboxEvent.objects.get(pk=ids[1])
    assert (first.type, first.organization_id, first.user_id, first.created_at) == (AWKWARD, org.pk, None, when)
    assert first.payload == payloads[0]
    assert second.payload == {"raw": 'a\\b"c\n', "x": [1]}  # a RawJson document is stored as the JSON it is
    assert (second.organization_id, second.delivered_at, second.attempts) == (None, None, 0)


def test_update_rows_sets_each_row_and_the_constants(org):
    ids = insert_rows(
        OutboxEvent,
        ("type", "organization_id", "user_id", "payload", "created_at", "attempts"),
        [("a", org.pk, None, {}, datetime(2024, 1, 1, tzinfo=UTC), 0) for _ in range(3)],
    )
    delivered = datetime(2024, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
    updated = update_rows(
        OutboxEvent,
        ("type", "payload", "organization_id"),
        [(ids[0], AWKWARD, {"k": AWKWARD}, None), (ids[1], "", RawJson("[1, 2]"), org.pk), (ids[2] + 99, "", {}, None)],
        constants={"delivered_at": delivered, "attempts": 7},
    )
    assert updated == 2  # the row that does not exist is not counted
    rows = {e.pk: e for e in OutboxEvent.objects.filter(pk__in=ids)}
    assert (rows[ids[0]].type, rows[ids[0]].payload, rows[ids[0]].organization_id) == (AWKWARD, {"k": AWKWARD}, None)
    assert (rows[ids[1]].type, rows[ids[1]].payload, rows[ids[1]].organization_id) == ("", [1, 2], org.pk)
    assert rows[ids[0]].delivered_at == rows[ids[1]].delivered_at == delivered
    assert rows[ids[0]].attempts == rows[ids[1]].attempts == 7
    assert (rows[ids[2]].type, rows[ids[2]].attempts, rows[ids[2]].delivered_at) == ("a", 0, None)  # not listed


def test_decimals_and_booleans_by_a_text_primary_key(tokens):
    # All 38 digits on PostgreSQL; SQLite keeps decimals as floating point whatever writes them.
    big = Decimal("12345678901234567890.123456789012345678") if connection.vendor == "postgresql" else Decimal("1.25")
    update_rows(Token, ("min_deposit", "is_listed"), [("BTC", big, False), ("USDT", Decimal("1E+2"), True)])
    btc, usdt = Token.objects.get(pk="BTC"), Token.objects.get(pk="USDT")
    assert (btc.min_deposit, btc.is_listed) == (big, False)
    assert (usdt.min_deposit, usdt.is_listed) == (Decimal("100"), True)
    assert Token.objects.get(pk="ETH").is_listed is True


def test_reserve_ids_are_fresh_and_ascending(postgres, org):
    ids = reserve_ids(OutboxEvent, 1000)
    assert ids == sorted(set(ids)) and len(ids) == 1000
    later = insert_rows(
        OutboxEvent, ("type", "payload", "created_at", "attempts"), [("x", json.loads("{}"), datetime.now(UTC), 0)]
    )
    assert later[0] > ids[-1]
