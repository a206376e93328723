"""Seed principle 1 across the writes not covered by their own tests, and concurrent retries."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from apps.events.webhooks import webhook_create
from apps.orgapi.models import OrgApiRequest
from apps.trading.models import Order
from apps.users.models import UserFreeze
from tests.orgapi.conftest import OrgClient


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("user/updateFavorite", {"symbol_ids": "BTCUSDT"}),
        ("account/frozenUser", {"token_id": "BTC", "frozen": "true"}),
        ("trade/frozenUser", {"symbol_id": "BTCUSDT", "frozen": "true"}),
    ],
)
def test_retry_answers_the_same_without_a_second_effect(api, make_user, btcusdt, path, extra):
    user = make_user()
    params = {"client_order_id": "once", "uid": user.uid, **extra}
    first = api.post(path, params)
    assert first.status == 200 and "X-Idempotent-Replay" not in first.headers
    again = api.post(path, params)
    assert (again.status, again.body, again.headers["X-Idempotent-Replay"]) == (200, first.body, "true")
    assert OrgApiRequest.objects.filter(client_order_id="once").count() == 1
    assert UserFreeze.objects.filter(user=user).count() == (1 if "frozen" in extra else 0)


@pytest.mark.django_db
def test_webhook_update_and_delete_retries(api, org):
    webhook, _ = webhook_create(organization=org, url="https://hooks.example.com/a")
    update = {"client_order_id": "u", "webhook_id": webhook.pk, "enabled": "false"}
    assert api.post("webhook/update", update).body == api.post("webhook/update", update).body
    delete = {"client_order_id": "d", "webhook_id": webhook.pk}
    first = api.post("webhook/delete", delete)
    assert first.body["deleted"] is True
    assert api.post("webhook/delete", delete).body == first.body  # not "not found": the same answer


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_place_one_order(postgres, org_key, traders, bal):
    """Two copies of the same write at the same moment: one runs, the other waits and gets its answer."""
    alice, _ = traders
    params = {
        "client_order_id": "race-1",
        "uid": alice.uid,
        "symbol_id": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "price": "100",
        "quantity": "1",
    }
    answers: list[object] = []
    barrier = threading.Barrier(4)

    stamp = int(time.time() * 1000)

    def send(n: int) -> None:
        try:
            barrier.wait()
            # distinct timestamps: an identical signed request would be refused as a replay
            answers.append(OrgClient(Client(), *org_key).post("trade/spot/createOrder", params, timestamp=stamp - n))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status for a in answers] == [200] * 4, [a.body for a in answers]
    assert len({a.body["order_id"] for a in answers}) == 1
    assert sum("X-Idempotent-Replay" in a.headers for a in answers) == 3
    assert Order.objects.filter(user=alice).count() == 1
    assert bal(alice, "BTC") == (Decimal("9"), Decimal("1"))
