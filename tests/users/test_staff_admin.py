"""Staff pages: freezes set and lifted through services (with reason + audit), 2FA reset, user page."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.core.errors import InvalidParameter
from apps.events.models import OutboxEvent
from apps.users.models import FreezeKind, LoginRecord, SecurityRecord, User, UserFreeze
from apps.users.selectors import user_is_frozen
from apps.users.services import user_freeze, user_freeze_lift
from tests.users.helpers import bind_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user() -> User:
    return User.objects.create_superuser(username="boss", password="x", email="")


def test_freeze_needs_a_reason_and_is_audited(make_user, admin_user, btcusdt):
    user = make_user()
    with pytest.raises(InvalidParameter):
        user_freeze(user=user, kind=FreezeKind.TRADE, reason=" ", acting_user=admin_user)
    with pytest.raises(InvalidParameter):
        user_freeze(user=user, kind=FreezeKind.LOGIN, reason="x", acting_user=admin_user, symbol_id="BTCUSDT")
    freeze = user_freeze(user=user, kind=FreezeKind.TRADE, reason="abuse", acting_user=admin_user, symbol_id="BTCUSDT")
    assert user_is_frozen(user=user, kind=FreezeKind.TRADE, symbol_id="BTCUSDT")
    assert not user_is_frozen(user=user, kind=FreezeKind.TRADE, symbol_id="ETHUSDT")
    user_freeze_lift(freeze=freeze, acting_user=admin_user, reason="resolved")
    assert not user_is_frozen(user=user, kind=FreezeKind.TRADE, symbol_id="BTCUSDT")
    records = list(SecurityRecord.objects.filter(user=user).order_by("id").values_list("action", "acting_user"))
    assert records == [("freeze", admin_user.pk), ("unfreeze", admin_user.pk)]
    assert OutboxEvent.objects.filter(user=user, type="user.security.changed").count() == 2


def test_admin_freeze_form_and_lift_action(client, make_user, admin_user):
    user = make_user()
    client.force_login(admin_user)
    response = client.post(
        "/admin/users/userfreeze/add/",
        {"user": user.pk, "kind": "withdraw", "reason": "chargeback", "symbol": "", "token": ""},
    )
    assert response.status_code == 302, response.content[:500]
    freeze = UserFreeze.objects.get(user=user)
    assert freeze.created_by == admin_user and user_is_frozen(user=user, kind=FreezeKind.WITHDRAW, token_id="BTC")
    client.post(
        "/admin/users/userfreeze/",
        {"action": "lift_selected", "_selected_action": [freeze.pk], "reason": "refund cleared"},
    )
    freeze.refresh_from_db()
    assert not freeze.is_active and freeze.lifted_by == admin_user and freeze.lift_reason == "refund cleared"


def test_admin_2fa_reset_is_audited(client, make_user, admin_user):
    user = make_user()
    bind_totp(user)
    client.force_login(admin_user)
    changelist = "/admin/users/user/"
    client.post(changelist, {"action": "reset_2fa", "_selected_action": [user.pk], "reason": ""})
    assert TOTPDevice.objects.filter(user=user).exists()  # no reason: refused
    client.post(changelist, {"action": "reset_2fa", "_selected_action": [user.pk], "reason": "lost phone, ticket 42"})
    assert not TOTPDevice.objects.filter(user=user).exists()
    record = SecurityRecord.objects.get(user=user, action="totp_reset")
    assert record.acting_user == admin_user and record.detail["reason"] == "lost phone, ticket 42"


def test_user_page_shows_balances_login_history_and_freezes(client, make_user, admin_user, tokens, fund):
    user = make_user()
    fund(user, "USDT", "12.5")
    LoginRecord.objects.create(user=user, account=user.email, ip="10.1.2.3", user_agent="ua", result="success")
    user_freeze(user=user, kind=FreezeKind.LOGIN, reason="kyc mismatch", acting_user=admin_user)
    client.force_login(admin_user)
    page = client.get(f"/admin/users/user/{user.pk}/change/").content.decode()
    assert "12.5" in page and "10.1.2.3" in page and "kyc mismatch" in page
