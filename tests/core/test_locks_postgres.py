"""The per-user mutex (``apps.core.locks.parent_row_lock``) on PostgreSQL.

It must exclude other holders of the same mutex, and must not block the commit of a transaction
that inserts rows referencing the user: the deferred foreign-key check of such an insert takes
``FOR KEY SHARE`` on the user row. With ``FOR UPDATE`` a withdrawal and an order placement deadlocked
under load; these tests fail with ``FOR UPDATE`` (the commit waits, then times out).
"""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from apps.core.locks import parent_row_lock
from apps.trading.models import Order
from apps.users.models import User

pytestmark = [pytest.mark.django_db(transaction=True)]


def _hold_mutex(user_id: int, held: threading.Event, release: threading.Event) -> None:
    try:
        with transaction.atomic():
            assert parent_row_lock(User, user_id)
            held.set()
            release.wait(30)
    finally:
        connections.close_all()


def _lock_timeout(seconds: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{seconds}s'")


def test_order_placement_commits_while_another_request_holds_the_user_mutex(postgres, traders, place):
    alice, _bob = traders
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_mutex, args=(alice.pk, held, release))
    holder.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            _lock_timeout(3)  # with FOR UPDATE the commit's foreign-key check on the user row times out
            order = place(alice, "buy", price="100", quantity="1", client_order_id="under-mutex")
        assert Order.objects.filter(pk=order.pk, user=alice).exists()
    finally:
        release.set()
        holder.join(30)


def test_a_second_holder_of_the_same_user_mutex_waits(postgres, make_user):
    user = make_user()
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_mutex, args=(user.pk, held, release))
    holder.start()
    try:
        assert held.wait(10)
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            _lock_timeout(1)
            parent_row_lock(User, user.pk)
    finally:
        release.set()
        holder.join(30)
    with transaction.atomic():
        assert parent_row_lock(User, user.pk)  # free again once the holder committed


def test_parent_row_lock_reports_a_missing_row(db):
    with transaction.atomic():
        assert parent_row_lock(User, 987654321) is False
