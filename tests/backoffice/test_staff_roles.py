"""Staff roles (DESIGN.md §12) as groups, create_staff, and the bootstrap superuser's TOTP device."""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.backoffice.roles import ROLES, role_permissions, roles_sync
from apps.users.models import User

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_every_role_is_a_group_with_exactly_its_permissions():
    roles_sync()
    for role in ROLES:
        group = Group.objects.get(name=role.name)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert granted == {f"{p.content_type.app_label}.{p.codename}" for p in role_permissions(role)}
        listed = {p for p in role.permissions if not p.startswith("*")}
        assert listed - granted == set(), f"{role.name} names permissions that do not exist"


def test_support_is_read_only():
    roles_sync()
    codenames = set(Group.objects.get(name="Support").permissions.values_list("codename", flat=True))
    assert "view_withdrawal" in codenames and "view_user" in codenames
    assert all(c.startswith("view_") for c in codenames), codenames - {c for c in codenames if c.startswith("view_")}


def test_roles_sync_resets_a_group_that_was_widened_by_hand():
    roles_sync()
    group = Group.objects.get(name="Support")
    group.permissions.add(*role_permissions(ROLES[1]))  # withdrawal approver's, incl. approve_withdrawal
    roles_sync()
    assert not group.permissions.filter(codename="approve_withdrawal").exists()


def test_create_staff_prints_a_login_with_a_totp_uri():
    result = run("create_staff", "--username", "kim", "--group", "withdrawal-approver")
    assert set(result) >= {"username", "password", "totp_uri"}
    uri = urlparse(result["totp_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    secret = parse_qs(uri.query)["secret"][0]
    user = User.objects.get(username="kim")
    assert user.is_staff and not user.is_superuser and user.check_password(result["password"])
    assert list(user.groups.values_list("name", flat=True)) == ["Withdrawal approver"]
    assert user.has_perm("accounts.approve_withdrawal") and not user.has_perm("kyc.review_kycapplication")
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed and result["totp_secret"] == secret


def test_create_staff_accepts_the_group_name_and_refuses_unknown_groups_and_duplicates():
    assert run("create_staff", "--username", "lee", "--group", "KYC reviewer")["username"] == "lee"
    with pytest.raises(SystemExit):
        run("create_staff", "--username", "lee", "--group", "support")
    with pytest.raises(SystemExit):
        run("create_staff", "--username", "park", "--group", "janitor")
    assert not User.objects.filter(username="park").exists()


def test_bootstrap_gives_the_superuser_a_totp_device_once(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    first = run("bootstrap")
    assert first["staff_totp_uri"].startswith("otpauth://totp/") and first["staff_totp_secret"]
    second = run("bootstrap")
    assert second["staff_totp_uri"] == first["staff_totp_uri"]
    admin = User.objects.get(username="admin")
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).count() == 1
    saved = json.loads((tmp_path / "var" / "staff-login.json").read_text())
    assert saved["totp_uri"] == first["staff_totp_uri"] and saved["password"] == first["staff_password"]
