"""Finance admin: CSV airdrop upload, permission-limited forms, balances, history with CSV export."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from apps.accounts.services import manual_credit
from apps.finance.export import csv_safe
from apps.finance.models import Airdrop, BonusGrant, FinanceOperation, Lockup
from apps.users.models import User

D = Decimal


@pytest.fixture
def operator_client(db, django_user_model):
    call_command("bootstrap", stdout=io.StringIO())  # creates the staff groups
    user = django_user_model.objects.create_user(username="fin", password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name="Finance operator"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def support_client(db, django_user_model):
    user = django_user_model.objects.create_user(username="support", password="pw-for-tests-only", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_operator_uploads_a_csv_airdrop_and_sees_per_row_results(operator_client, org, tokens, make_user, balance):
    manual_credit(organization=org, token_id="USDT", amount="100", reason="float")
    alice = make_user()
    upload = SimpleUploadedFile("drop.csv", f"uid,amount\n{alice.uid},12.5\n42,1\n{alice.uid},x\n".encode())
    response = operator_client.post(
        reverse("admin:finance_airdrop_add"),
        {"organization": org.pk, "batch_id": "csv-1", "token": "USDT", "bucket": "available", "csv_file": upload},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    airdrop = Airdrop.objects.get(batch_id="csv-1")
    assert (airdrop.status, airdrop.succeeded_rows, airdrop.failed_rows) == ("completed", 1, 2)
    assert balance(alice, "USDT") == (D("12.5"), 0, 0)
    page = operator_client.get(reverse("admin:finance_airdrop_change", args=[airdrop.pk]))
    assert page.status_code == 200 and b"unknown user" in page.content
    listing = operator_client.get(reverse("admin:finance_airdrop_changelist"))
    assert b"3/3" in listing.content


@pytest.mark.django_db
def test_operation_forms_are_limited_to_finance_operators(support_client, operator_client, org, tokens, make_user):
    alice = make_user()
    for name in ("airdrop", "lockup", "bonusgrant", "accounttransferlock", "commissionrecord"):
        assert support_client.get(reverse(f"admin:finance_{name}_add")).status_code == 403
        assert operator_client.get(reverse(f"admin:finance_{name}_add")).status_code == 200
    response = operator_client.post(
        reverse("admin:finance_bonusgrant_add"),
        {"organization": org.pk, "uid": alice.uid, "token": "USDT", "amount": "5", "withdrawable": ""},
    )
    # The operating account is empty: the service's refusal is shown on the form, nothing is created.
    assert response.status_code == 200 and b"operating account" in response.content
    assert not BonusGrant.objects.exists()


@pytest.mark.django_db
def test_lock_release_and_history_export(operator_client, org, tokens, make_user, fund):
    alice = make_user()
    fund(alice, "BTC", "2")
    response = operator_client.post(
        reverse("admin:finance_lockup_add"),
        {"organization": org.pk, "uid": alice.uid, "token": "BTC", "amount": "1", "memo": "=HYPERLINK(1)"},
    )
    assert response.status_code == 302
    lockup = Lockup.objects.get(user=alice)
    operator_client.post(
        reverse("admin:finance_lockup_changelist"), {"action": "release_selected", "_selected_action": [lockup.pk]}
    )
    lockup.refresh_from_db()
    assert lockup.status == "released"

    history = operator_client.get(reverse("admin:finance_financeoperation_changelist") + "?operation=lock")
    assert history.status_code == 200 and b"fin:lock:" in history.content and b"fin:unlock:" not in history.content
    balances = operator_client.get(reverse("admin:finance_systembalance_changelist"))
    assert balances.status_code == 200

    ids = list(FinanceOperation.objects.filter(reference__startswith="fin:").values_list("pk", flat=True))
    export = operator_client.post(
        reverse("admin:finance_financeoperation_changelist"), {"action": "export_csv", "_selected_action": ids}
    )
    assert export.status_code == 200 and export["Content-Type"] == "text/csv"
    body = b"".join(export.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0].startswith("transaction_id,created_at")
    assert len(lines) == 1 + 4  # two transactions, two postings each
    assert "'=HYPERLINK(1)" in body and ",'-1\r\n" in body


def test_csv_safe_escapes_formula_prefixes():
    assert [csv_safe(v) for v in ("=1+1", "+1", "-1", "@SUM", "\tx", "plain", 5, None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM",
        "'\tx",
        "plain",
        "5",
        "",
    ]


@pytest.mark.django_db
def test_operators_group_holds_the_finance_permissions(operator_client):
    user = User.objects.get(username="fin")
    for perm in ("finance.add_airdrop", "finance.release_lockup", "finance.export_financeoperation"):
        assert user.has_perm(perm), perm
