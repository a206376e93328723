"""List pages: search, date ranges, the uid filter and links from a user, CSV export with its
permission and spreadsheet-formula escaping."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts import funding
from apps.accounts.models import Deposit, DepositStatus
from apps.backoffice.changelist import csv_cell, csv_safe
from apps.users.models import User

pytestmark = pytest.mark.django_db


def _deposit(user, txid, amount="0.01"):
    address = funding.deposit_address_get(user=user, token_id="BTC")
    return funding.deposit_observe(
        token_id="BTC", chain="BTC", txid=txid, output_index=0, address=address.address, amount=amount, confirmations=2
    )


@pytest.fixture
def finance(client, make_staff_member):
    staff = make_staff_member("finance-operator").user
    client.force_login(staff)
    return staff


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_evaluate_get_a_quote(value, cell):
    assert csv_safe(value) == cell


def test_csv_renders_amounts_as_plain_strings():
    from decimal import Decimal

    assert csv_cell(Decimal("1E+2")) == "100" and csv_cell(Decimal("-0.50")) == "'-0.5" and csv_cell(True) == "true"


def test_csv_export_of_users_escapes_formulas(client, finance, make_user):
    make_user(email="victim@example.com")
    evil = make_user(email="evil@example.com")
    User.objects.filter(pk=evil.pk).update(first_name="=cmd|'/c calc'!A1", phone="+15550100")
    response = client.post(
        "/admin/users/user/", {"action": "export_csv", "_selected_action": [evil.pk], "select_across": "0"}
    )
    rows = _csv(response)
    header, row = rows[0], rows[1]
    assert header[:3] == ["Username", "Uid", "Email address"]
    assert row[2] == "evil@example.com" and row[3] == "'+15550100"


def test_csv_export_needs_the_export_permission(client, make_staff_member, make_user):
    user = make_user()
    client.force_login(make_staff_member("support").user)
    page = client.get("/admin/users/user/")
    assert page.status_code == 200 and b"export_csv" not in page.content
    response = client.post("/admin/users/user/", {"action": "export_csv", "_selected_action": [user.pk], "index": "0"})
    assert response.status_code in (200, 302) and "text/csv" not in response.get("Content-Type", "")


def test_deposits_search_by_txid_and_filter_by_uid_and_dates(client, finance, make_user, funding_tokens):
    alice, bob = make_user(), make_user()
    mine = _deposit(alice, "ab" * 32)
    _deposit(bob, "cd" * 32)
    Deposit.objects.filter(pk=mine.pk).update(created_at=timezone.now() - timedelta(days=10))
    assert Deposit.objects.filter(status=DepositStatus.CREDITED).count() == 2

    def ids(query: str) -> set[int]:
        response = client.get(f"/admin/accounts/deposit/?{query}")
        assert response.status_code == 200
        return {obj.pk for obj in response.context["cl"].result_list}

    assert ids(f"q={'ab' * 32}") == {mine.pk}
    assert ids(f"uid={alice.uid}") == {mine.pk}
    today = timezone.now().date()
    assert ids(f"created_at__from={today.isoformat()}") == {mine.pk + 1}
    old = (today - timedelta(days=10)).isoformat()
    assert ids(f"created_at__from={old}&created_at__to={old}") == {mine.pk}
    assert ids(f"q={alice.email}") == {mine.pk}


def test_user_page_links_to_the_users_records(client, finance, make_user):
    user = make_user()
    page = client.get(f"/admin/users/user/{user.pk}/change/").content.decode()
    for target in ("accounts/account", "trading/order", "trading/trade", "accounts/deposit", "accounts/withdrawal"):
        assert f"/admin/{target}/?uid={user.uid}" in page
    assert f"/admin/kyc/kycapplication/?uid={user.uid}" in page


def test_user_search_finds_a_deposit_address(client, finance, make_user, funding_tokens):
    user, _other = make_user(), make_user()
    address = funding.deposit_address_get(user=user, token_id="BTC").address
    response = client.get(f"/admin/users/user/?q={address}")
    assert [u.pk for u in response.context["cl"].result_list] == [user.pk]


def test_every_changelist_renders_with_the_back_office_filters(
    client, django_user_model, traders, place, django_capture_on_commit_callbacks
):
    alice, bob = traders
    with django_capture_on_commit_callbacks(execute=True):  # the matching engine runs after commit
        place(alice, "sell", price="100", quantity="1")
        place(bob, "buy", price="100", quantity="1")
    root = django_user_model.objects.create_superuser(username="root", password="x")
    client.force_login(root)
    for url in (
        f"/admin/trading/trade/?uid={alice.uid}",
        f"/admin/trading/order/?uid={bob.uid}&created_at__from=2020-01-01",
        f"/admin/accounts/balance/?uid={alice.uid}",
        f"/admin/accounts/posting/?uid={alice.uid}",
        "/admin/admin/logentry/",
        "/admin/backoffice/dailysymbolstatistics/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    trades = client.get(f"/admin/trading/trade/?uid={alice.uid}").context["cl"].result_list
    assert len(trades) == 1
