"""Every admin page a staff member can open renders, and the ledger is read-only there."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.accounts.models import Balance, Posting

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="pw-for-tests-only")
    client.force_login(user)
    return client


def test_every_changelist_renders(staff_client, btcusdt, make_user, fund):
    fund(make_user(), "BTC", "1")
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = staff_client.get(url)
        assert response.status_code == 200, url


def test_ledger_rows_cannot_be_edited_in_admin(staff_client, make_user, fund, tokens):
    fund(make_user(), "BTC", "1")
    balance = Balance.objects.filter(account__user__isnull=False).first()
    posting = Posting.objects.first()
    assert staff_client.get(reverse("admin:accounts_balance_add")).status_code == 403
    page = staff_client.get(reverse("admin:accounts_balance_change", args=[balance.pk]))
    assert page.status_code == 200 and b'name="available"' not in page.content
    assert (
        staff_client.post(reverse("admin:accounts_posting_delete", args=[posting.pk]), {"post": "yes"}).status_code
        == 403
    )


def test_symbol_admin_pause_action(staff_client, btcusdt):
    response = staff_client.post(
        reverse("admin:tokens_symbol_changelist"),
        {"action": "pause_symbols", "_selected_action": [btcusdt.pk]},
        follow=True,
    )
    assert response.status_code == 200
    btcusdt.refresh_from_db()
    assert btcusdt.status == "pause"
