"""With workers, event delivery is one ``deliver_pending`` task at a time, not one per transaction."""

from __future__ import annotations

import pytest

from apps.events import tasks
from apps.events.models import OutboxEvent
from apps.events.services import event_emit
from broker.celery import app

pytestmark = pytest.mark.django_db(transaction=True)

DELIVER_PENDING = tasks.deliver_pending  # the real task, before a test replaces the module's name


class FakeTask:
    def __init__(self, calls: list[tuple]) -> None:
        self.calls = calls

    def delay(self, *args: object) -> None:
        self.calls.append(args)


@pytest.fixture
def published(monkeypatch):
    """Services mode: the delivery task is published (recorded here), not run in-process."""
    calls: list[tuple] = []
    app.conf.task_always_eager = False
    monkeypatch.setattr(tasks, "deliver_pending", FakeTask(calls))
    yield calls
    app.conf.task_always_eager = True


def test_many_commits_in_the_same_instant_queue_one_delivery_task(org, make_user, published):
    user = make_user()
    for n in range(5):
        event_emit(type="order.update", organization_id=org.pk, user=user, payload={"n": n})
    assert published == [()]
    assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() >= 5


def test_the_task_delivers_everything_waiting_in_id_order_and_a_later_commit_queues_again(
    org, make_user, published, monkeypatch
):
    user = make_user()
    ids = [event_emit(type="order.update", organization_id=org.pk, user=user, payload={"n": n}).pk for n in range(3)]
    assert len(published) == 1
    delivered_batches: list[list[int]] = []
    monkeypatch.setattr(tasks.notify_events, "delay", lambda batch: delivered_batches.append(batch))
    waiting = OutboxEvent.objects.filter(delivered_at__isnull=True).count()
    # The real task body, in this process (it clears the mark first, then drains in chunks of 2).
    assert DELIVER_PENDING.run(limit=2) == waiting
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
    seqs = list(OutboxEvent.objects.filter(pk__in=ids).order_by("pk").values_list("org_seq", flat=True))
    assert seqs == sorted(seqs) and None not in seqs  # numbered in id order
    assert [i for batch in delivered_batches for i in batch][-3:] == ids
    event_emit(type="order.update", organization_id=org.pk, user=user, payload={"n": 9})
    assert len(published) == 2
