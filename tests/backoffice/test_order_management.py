"""Order management in the admin: cancel one user's orders or every resting order of a symbol, with a
reason, through the trading services; only staff holding ``backoffice.cancel_order``."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from apps.trading.models import MatchCommand, Order, OrderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def matched(django_capture_on_commit_callbacks):
    """Run what was queued after commit (the matching engine, in-process) when the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def resting(traders, place, matched):
    alice, bob = traders
    with matched():
        orders = [
            place(alice, "buy", price="90", quantity="1"),
            place(alice, "buy", price="91", quantity="1"),
            place(bob, "sell", price="110", quantity="1"),
        ]
    assert {Order.objects.get(pk=o.pk).status for o in orders} == {OrderStatus.NEW}
    return orders


def test_cancel_selected_orders_needs_a_reason_and_records_it(client, make_staff_member, resting, matched):
    manager = make_staff_member("listing-manager").user
    client.force_login(manager)
    first = resting[0]
    client.post("/admin/trading/order/", {"action": "cancel_orders", "_selected_action": [first.pk], "reason": ""})
    assert not MatchCommand.objects.filter(order=first, kind="cancel").exists()

    with matched():
        client.post(
            "/admin/trading/order/",
            {"action": "cancel_orders", "_selected_action": [first.pk], "reason": "fat finger, ticket 7"},
        )
    first.refresh_from_db()
    assert first.status == OrderStatus.CANCELED  # the matching engine ran in-process
    command = MatchCommand.objects.get(order=first, kind="cancel")
    assert command.reason == f"staff:{manager.username}:fat finger, ticket 7"
    entry = LogEntry.objects.get(object_id=str(first.pk), user=manager)
    assert "fat finger, ticket 7" in entry.get_change_message()
    assert Order.objects.get(pk=resting[1].pk).status == OrderStatus.NEW


def test_cancel_all_resting_orders_of_a_symbol(client, make_staff_member, resting, btcusdt, matched):
    client.force_login(make_staff_member("listing-manager").user)
    with matched():
        client.post(
            "/admin/tokens/symbol/",
            {"action": "cancel_resting", "_selected_action": [btcusdt.pk], "reason": "maintenance"},
        )
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELED}
    btcusdt.refresh_from_db()
    assert btcusdt.status == "on"  # trading continues; only the book was cleared


def test_orders_cannot_be_canceled_by_support_or_finance(client, make_staff_member, resting):
    for role in ("support", "finance-operator"):
        client.force_login(make_staff_member(role).user)
        page = client.get("/admin/trading/order/")
        assert page.status_code == 200 and b"cancel_orders" not in page.content
        client.post(
            "/admin/trading/order/",
            {"action": "cancel_orders", "_selected_action": [o.pk for o in resting], "reason": "x"},
        )
    assert not MatchCommand.objects.filter(kind="cancel").exists()


def test_delisting_a_symbol_keeps_the_staff_reason_in_its_history(client, make_staff_member, resting, btcusdt, matched):
    manager = make_staff_member("listing-manager").user
    client.force_login(manager)
    with matched():
        client.post(
            "/admin/tokens/symbol/",
            {"action": "delist_symbols", "_selected_action": [btcusdt.pk], "reason": "project abandoned"},
        )
    btcusdt.refresh_from_db()
    assert btcusdt.status == "off"
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELED}
    latest = btcusdt.history.latest()
    assert latest.history_user == manager and "project abandoned" in latest.history_change_reason
    form = client.get(f"/admin/tokens/symbol/{btcusdt.pk}/change/").content.decode()
    assert 'name="status"' not in form  # status changes only through the actions
