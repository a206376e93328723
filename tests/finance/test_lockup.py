"""Lock-ups: user and staff locks, release rules, the periodic release, idempotency."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apps.core.errors import InsufficientBalance, LockupNotDue, NotFound, PermissionDenied
from apps.events.models import OutboxEvent
from apps.finance import services
from apps.finance.models import Lockup

pytestmark = pytest.mark.django_db
D = Decimal


def test_user_locks_and_releases_an_undated_lockup(tokens, make_user, fund, balance):
    alice = make_user()
    fund(alice, "BTC", "3")
    lockup = services.lockup_create(user=alice, token_id="BTC", amount="1.25", client_order_id="l-1", acting_user=alice)
    assert lockup.source == "user" and lockup.status == "locked"
    assert balance(alice) == (D("1.75"), 0, D("1.25"))
    again = services.lockup_create(user=alice, token_id="BTC", amount="1.25", client_order_id="l-1", acting_user=alice)
    assert again.pk == lockup.pk and again.created is False
    assert balance(alice) == (D("1.75"), 0, D("1.25"))

    released = services.lockup_release(lockup_id=lockup.pk, user=alice)
    assert released.status == "released" and balance(alice) == (D("3"), 0, 0)
    assert services.lockup_release(lockup_id=lockup.pk, user=alice).created is False
    assert balance(alice) == (D("3"), 0, 0)
    assert list(OutboxEvent.objects.filter(user=alice, type__in=["lock", "unlock"]).values_list("type", flat=True)) == [
        "lock",
        "unlock",
    ]


def test_a_dated_lockup_is_released_by_the_user_only_when_due(tokens, make_user, fund, balance):
    alice = make_user()
    fund(alice, "BTC", "1")
    unlock_at = timezone.now() + timedelta(days=7)
    lockup = services.lockup_create(user=alice, token_id="BTC", amount="1", unlock_at=unlock_at, acting_user=alice)
    with pytest.raises(LockupNotDue):
        services.lockup_release(lockup_id=lockup.pk, user=alice)
    assert balance(alice) == (0, 0, D("1"))
    with time_machine.travel(unlock_at + timedelta(minutes=1)):
        services.lockup_release(lockup_id=lockup.pk, user=alice)
    assert balance(alice) == (D("1"), 0, 0)


def test_staff_lock_and_early_release_need_permissions(tokens, make_user, fund, balance, finance_staff, plain_staff):
    alice = make_user()
    fund(alice, "USDT", "100")
    with pytest.raises(PermissionDenied):
        services.lockup_create(user=alice, token_id="USDT", amount="10", acting_user=plain_staff)
    lockup = services.lockup_create(
        user=alice,
        token_id="USDT",
        amount="10",
        unlock_at=timezone.now() + timedelta(days=1),
        acting_user=finance_staff,
    )
    assert lockup.source == "staff" and balance(alice, "USDT") == (D("90"), 0, D("10"))
    with pytest.raises(PermissionDenied):
        services.lockup_release(lockup_id=lockup.pk, acting_user=plain_staff)
    services.lockup_release(lockup_id=lockup.pk, acting_user=finance_staff)
    assert balance(alice, "USDT") == (D("100"), 0, 0)
    assert Lockup.objects.get(pk=lockup.pk).released_by_id == finance_staff.pk


def test_the_periodic_task_releases_only_due_lockups(tokens, make_user, fund, balance):
    alice = make_user()
    fund(alice, "BTC", "2")
    now = timezone.now()
    soon = services.lockup_create(
        user=alice, token_id="BTC", amount="1", unlock_at=now + timedelta(hours=1), acting_user=alice
    )
    later = services.lockup_create(
        user=alice, token_id="BTC", amount="0.5", unlock_at=now + timedelta(days=1), acting_user=alice
    )
    undated = services.lockup_create(user=alice, token_id="BTC", amount="0.25", acting_user=alice)
    assert services.lockups_release_due(now=now + timedelta(hours=2)) == 1
    statuses = dict(Lockup.objects.values_list("pk", "status"))
    assert statuses == {soon.pk: "released", later.pk: "locked", undated.pk: "locked"}
    assert balance(alice) == (D("1.25"), 0, D("0.75"))


def test_locking_more_than_available_is_refused(tokens, make_user, fund, balance):
    alice = make_user()
    fund(alice, "BTC", "1")
    with pytest.raises(InsufficientBalance):
        services.lockup_create(user=alice, token_id="BTC", amount="1.5", acting_user=alice)
    assert balance(alice) == (D("1"), 0, 0) and not Lockup.objects.exists()


def test_a_user_cannot_release_someone_elses_lockup(tokens, make_user, fund):
    alice, mallory = make_user(), make_user()
    fund(alice, "BTC", "1")
    lockup = services.lockup_create(user=alice, token_id="BTC", amount="1", acting_user=alice)
    with pytest.raises(NotFound):
        services.lockup_release(lockup_id=lockup.pk, user=mallory)
