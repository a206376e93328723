"""The JSON contract of the operator commands (issue: foundation)."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import AccountType, Balance
from apps.accounts.reconcile import reconcile
from apps.users.models import Organization, User

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def run_failing(*args: str) -> dict:
    out = StringIO()
    with pytest.raises(SystemExit) as info:
        call_command(*args, stdout=out)
    assert info.value.code == 1
    return json.loads(out.getvalue())


def test_create_org_then_user_then_credit(tokens):
    org = run("create_org", "--name", "Acme Exchange")
    assert set(org) == {"org_id"}
    organization = Organization.objects.get(pk=org["org_id"])
    assert {a.type for a in organization.accounts.filter(user=None)} == {"custody", "fee", "operating"}

    user = run(
        "create_user",
        "--email",
        "Carol@Example.com",
        "--password",
        "a long enough pass",
        "--org",
        str(org["org_id"]),
        "--kyc-level",
        "2",
    )
    assert user["email"] == "carol@example.com"
    created = User.objects.get(uid=int(user["uid"]))
    assert (created.organization_id, created.kyc_level) == (org["org_id"], 2)
    assert created.check_password("a long enough pass")
    assert {a.type for a in created.accounts.all()} == {"spot", "funding"}

    tx = run("credit", "--user", user["uid"], "--token", "btc", "--amount", "1.25", "--reason", "bank wire 42")
    assert isinstance(tx["transaction_id"], int)
    assert Balance.objects.get(account__user=created, account__type="spot", token_id="BTC").available == Decimal("1.25")

    run("credit", "--user", user["uid"], "--account", "funding", "--token", "USDT", "--amount", "10", "--reason", "r")
    assert Balance.objects.get(account__user=created, account__type="funding", token_id="USDT").available == Decimal(
        "10"
    )

    op = run(
        "credit", "--org", str(org["org_id"]), "--operating", "--token", "USDT", "--amount", "500", "--reason", "budget"
    )
    assert op["transaction_id"] > tx["transaction_id"]
    operating = Balance.objects.get(
        account__organization=organization, account__type=AccountType.OPERATING, token_id="USDT"
    )
    assert operating.available == Decimal("500")
    assert reconcile()["ok"]


def test_credit_with_idempotency_key_credits_once(tokens, make_user):
    user = make_user()
    first = run(
        "credit", "--user", str(user.uid), "--token", "BTC", "--amount", "1", "--reason", "r", "--idempotency-key", "k1"
    )
    second = run(
        "credit", "--user", str(user.uid), "--token", "BTC", "--amount", "1", "--reason", "r", "--idempotency-key", "k1"
    )
    assert first == second
    assert Balance.objects.get(account__user=user, token_id="BTC").available == Decimal("1")


@pytest.mark.parametrize(
    "args, code",
    [
        (["--token", "DOGE", "--amount", "1"], "UNKNOWN_TOKEN"),
        (["--token", "BTC", "--amount", "-1"], "INVALID_AMOUNT"),
        (["--token", "BTC", "--amount", "0"], "INVALID_AMOUNT"),
        (["--token", "BTC", "--amount", "abc"], "INVALID_AMOUNT"),
        (["--token", "BTC", "--amount", "0.000000001"], "INVALID_AMOUNT"),  # BTC has 8 decimals
    ],
)
def test_credit_bad_input_is_a_json_error_and_changes_nothing(tokens, make_user, args, code):
    user = make_user()
    result = run_failing("credit", "--user", str(user.uid), "--reason", "r", *args)
    assert result["error"] == code
    assert not Balance.objects.filter(account__user=user).exclude(available=0).exists()


def test_create_user_duplicate_email_is_an_error(org):
    run("create_user", "--email", "d@example.com", "--password", "a long enough pass", "--org", str(org.pk))
    assert (
        run_failing("create_user", "--email", "d@example.com", "--password", "another long pass", "--org", str(org.pk))[
            "error"
        ]
        == "CONFLICT"
    )


def test_create_org_duplicate_name_is_an_error(db):
    run("create_org", "--name", "Twice")
    assert run_failing("create_org", "--name", "Twice")["error"] == "CONFLICT"


def test_bootstrap_is_idempotent_and_prints_the_login(db, settings, tmp_path):
    settings.BASE_DIR = tmp_path
    first = run("bootstrap", "--demo")
    assert first["created"] is True and len(first["staff_password"]) >= 12
    assert User.objects.get(username="admin").check_password(first["staff_password"])
    assert first["demo"]["symbols"] == ["BTCUSDT", "ETHUSDT"]
    second = run("bootstrap", "--demo")
    assert second["created"] is False
    assert second["staff_password"] == first["staff_password"]
    alice = User.objects.get(email="alice@demo.local")
    assert Balance.objects.get(account__user=alice, account__type="spot", token_id="USDT").available == Decimal(
        "100000"
    )
    assert set(Organization.objects.values_list("name", flat=True)) == {"Default Broker"}
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {
        "KYC reviewer",
        "Withdrawal approver",
        "Listing manager",
        "Finance operator",
        "Support",
    }
    support = Group.objects.get(name="Support")
    assert support.permissions.exists()
    assert not support.permissions.exclude(codename__startswith="view_").exists()
    assert reconcile()["ok"]
