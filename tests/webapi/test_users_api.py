"""HTTP tests: profile, invites, favorites, security settings (2FA-guarded), closure, dictionary."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.events.models import OutboxEvent
from apps.users.models import SecurityRecord, User
from apps.users.services import user_create
from tests.users import helpers
from tests.users.helpers import bind_totp, send_code, totp_now

sms_outbox = helpers.sms_outbox  # shared fixture
user_client = helpers.user_client  # shared fixture

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
JSON = "application/json"


def post(client, url, data=None, **extra):
    return client.post(url, data or {}, content_type=JSON, **extra)


@pytest.fixture(autouse=True)
def _no_throttles(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.VERIFICATION_CODE_RESEND_SECONDS = 0


def email_code(client, capture):
    return send_code(client, capture, purpose="security", channel="email")


def test_profile_and_language(user_client):
    client, user = user_client
    me = client.get("/api/v1/me").json()
    assert me["uid"] == str(user.uid) and me["language"] == "en" and me["totp_bound"] is False
    assert client.patch("/api/v1/me", {"language": "zh-hans"}, content_type=JSON).json()["language"] == "zh-hans"
    bad = client.patch("/api/v1/me", {"language": "xx"}, content_type=JSON)
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_PARAMETER"


def test_endpoints_need_login(client, org):
    for url in ("/api/v1/me", "/api/v1/security", "/api/v1/me/favorites", "/api/v1/kyc"):
        assert client.get(url).status_code == 403


def test_two_level_invitees(user_client, org):
    client, user = user_client
    child = user_create(organization=org, email="c@example.com", password=PASSWORD, invited_by=user)
    grandchild = user_create(organization=org, email="g@example.com", password=PASSWORD, invited_by=child)
    assert [r["uid"] for r in client.get("/api/v1/me/invitees", {"level": 1}).json()] == [str(child.uid)]
    assert [r["uid"] for r in client.get("/api/v1/me/invitees", {"level": 2}).json()] == [str(grandchild.uid)]
    assert client.get("/api/v1/me/invitees", {"level": 3}).status_code == 400


def test_favorites(user_client, btcusdt):
    client, _ = user_client
    assert post(client, "/api/v1/me/favorites", {"symbol": "btcusdt"}).status_code == 201
    assert post(client, "/api/v1/me/favorites", {"symbol": "BTCUSDT"}).status_code == 201  # idempotent
    assert [f["symbol"] for f in client.get("/api/v1/me/favorites").json()] == ["BTCUSDT"]
    assert post(client, "/api/v1/me/favorites", {"symbol": "NOPE"}).status_code == 404
    assert client.delete("/api/v1/me/favorites/BTCUSDT").status_code == 204
    assert client.get("/api/v1/me/favorites").json() == []


def test_password_change_needs_second_factor(user_client, django_capture_on_commit_callbacks):
    client, user = user_client
    new = "another fine passphrase 7"
    missing = post(client, "/api/v1/security/password", {"old_password": PASSWORD, "new_password": new})
    assert missing.status_code == 403 and missing.json()["code"] == "SECOND_FACTOR_REQUIRED"
    wrong_old = post(client, "/api/v1/security/password", {"old_password": "nope", "new_password": new})
    assert wrong_old.status_code == 400
    code = email_code(client, django_capture_on_commit_callbacks)
    ok = post(client, "/api/v1/security/password", {"old_password": PASSWORD, "new_password": new, "email_code": code})
    assert ok.status_code == 200, ok.json()
    user.refresh_from_db()
    assert user.check_password(new)
    assert client.get("/api/v1/me").status_code == 200  # the session survives its own password change
    assert SecurityRecord.objects.filter(user=user, action="password_change").exists()
    assert OutboxEvent.objects.filter(user=user, type="user.password.changed").exists()


def test_totp_setup_bind_and_unbind(user_client, django_capture_on_commit_callbacks):
    client, user = user_client
    setup = post(client, "/api/v1/security/totp/setup").json()
    assert setup["otpauth_url"].startswith("otpauth://totp/") and setup["qr_code"].startswith("data:image/svg+xml")
    device = TOTPDevice.objects.get(user=user)
    no_code = post(client, "/api/v1/security/totp/bind", {"code": totp_now(device)})
    assert no_code.status_code == 403  # binding needs an email/SMS code as well
    code = email_code(client, django_capture_on_commit_callbacks)
    wrong = post(
        client,
        "/api/v1/security/totp/bind",
        {"code": "000000" if totp_now(device) != "000000" else "1", "email_code": code},
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "WRONG_SECOND_FACTOR"
    device.refresh_from_db()
    assert device.confirmed is False
    ok = post(client, "/api/v1/security/totp/bind", {"code": totp_now(device), "email_code": code})
    assert ok.status_code == 200, ok.json()
    assert client.get("/api/v1/security").json()["totp_bound"] is True
    # Now every sensitive change asks for TOTP; an email code is no longer enough.
    code = send_code(client, django_capture_on_commit_callbacks, purpose="security", channel="email")
    refused = post(client, "/api/v1/security/totp/unbind", {"email_code": code})
    assert refused.status_code == 403 and refused.json()["code"] == "SECOND_FACTOR_REQUIRED"
    ok = post(client, "/api/v1/security/totp/unbind", {"totp_code": totp_now(device, offset=1)})
    assert ok.status_code == 200, ok.json()
    assert not TOTPDevice.objects.filter(user=user).exists()
    actions = list(SecurityRecord.objects.filter(user=user).order_by("id").values_list("action", flat=True))
    assert actions == ["totp_bind", "totp_unbind"]


def test_fund_password_set_change_and_reset(user_client, django_capture_on_commit_callbacks):
    client, user = user_client
    device = bind_totp(user)
    first = "fund secret number one"
    missing = post(client, "/api/v1/security/fund-password", {"password": first})
    assert missing.status_code == 403
    assert (
        post(client, "/api/v1/security/fund-password", {"password": first, "totp_code": totp_now(device)}).status_code
        == 200
    )
    second = "fund secret number two"
    wrong_old = post(
        client,
        "/api/v1/security/fund-password",
        {"password": second, "old_password": "x", "totp_code": totp_now(device, 1)},
    )
    assert wrong_old.status_code == 400 and wrong_old.json()["code"] == "WRONG_FUND_PASSWORD"
    ok = post(
        client,
        "/api/v1/security/fund-password",
        {"password": second, "old_password": first, "totp_code": totp_now(device, 1)},
    )
    assert ok.status_code == 200, ok.json()
    user.refresh_from_db()
    assert check_password(second, user.fund_password)
    # forgot: a reset code to the user's own email, plus TOTP
    code = send_code(client, django_capture_on_commit_callbacks, purpose="reset_fund_password", channel="email")
    third = "fund secret number three"
    no_totp = post(
        client, "/api/v1/security/fund-password/reset", {"password": third, "target": user.email, "code": code}
    )
    assert no_totp.status_code == 403
    device.refresh_from_db()
    device.last_t = -1
    device.save()
    ok = post(
        client,
        "/api/v1/security/fund-password/reset",
        {"password": third, "target": user.email, "code": code, "totp_code": totp_now(device)},
    )
    assert ok.status_code == 200, ok.json()
    user.refresh_from_db()
    assert check_password(third, user.fund_password)
    assert list(SecurityRecord.objects.filter(user=user).order_by("id").values_list("action", flat=True)) == [
        "fund_password_set",
        "fund_password_change",
        "fund_password_reset",
    ]


def test_change_email_needs_old_and_new_codes(user_client, django_capture_on_commit_callbacks):
    client, user = user_client
    old_email = user.email
    new_code = send_code(client, django_capture_on_commit_callbacks, purpose="bind", target="fresh@example.com")
    missing_old = post(client, "/api/v1/security/contact", {"target": "fresh@example.com", "new_code": new_code})
    assert missing_old.status_code == 403 and missing_old.json()["code"] == "VERIFICATION_REQUIRED"
    old_code = email_code(client, django_capture_on_commit_callbacks)
    wrong_old = post(
        client, "/api/v1/security/contact", {"target": "fresh@example.com", "new_code": new_code, "old_code": new_code}
    )
    assert wrong_old.status_code == 400
    user.refresh_from_db()
    assert user.email == old_email  # nothing half-applied
    ok = post(
        client, "/api/v1/security/contact", {"target": "fresh@example.com", "new_code": new_code, "old_code": old_code}
    )
    assert ok.status_code == 200, ok.json()
    user.refresh_from_db()
    assert user.email == "fresh@example.com"
    assert SecurityRecord.objects.filter(user=user, action="email_change").exists()


def test_bind_phone_then_unbind_email(user_client, sms_outbox, django_capture_on_commit_callbacks):
    client, user = user_client
    cant = post(client, "/api/v1/security/contact/unbind", {"field": "email"})
    assert cant.status_code == 400  # the only contact can't be removed
    new_code = send_code(client, django_capture_on_commit_callbacks, purpose="bind", target="+8613800000000")
    no_factor = post(client, "/api/v1/security/contact", {"target": "+8613800000000", "new_code": new_code})
    assert no_factor.status_code == 403
    factor = email_code(client, django_capture_on_commit_callbacks)
    ok = post(
        client, "/api/v1/security/contact", {"target": "+8613800000000", "new_code": new_code, "email_code": factor}
    )
    assert ok.status_code == 200, ok.json()
    sms = send_code(client, django_capture_on_commit_callbacks, purpose="security", channel="sms")
    ok = post(client, "/api/v1/security/contact/unbind", {"field": "email", "sms_code": sms})
    assert ok.status_code == 200, ok.json()
    user.refresh_from_db()
    assert user.email == "" and user.phone == "+8613800000000"


def test_bind_code_refused_for_a_taken_contact(user_client, make_user):
    client, _ = user_client
    make_user(email="other@example.com")
    response = post(client, "/api/v1/codes/send", {"purpose": "bind", "target": "other@example.com"})
    assert response.status_code == 409


def test_account_close_needs_zero_balances(user_client, tokens, fund, django_capture_on_commit_callbacks):
    client, user = user_client
    fund(user, "USDT", "5")
    code = email_code(client, django_capture_on_commit_callbacks)
    refused = post(client, "/api/v1/me/close", {"password": PASSWORD, "email_code": code})
    assert refused.status_code == 409
    user.refresh_from_db()
    assert user.is_active


def test_account_close(user_client, client, django_capture_on_commit_callbacks):
    api, user = user_client
    code = email_code(api, django_capture_on_commit_callbacks)
    assert post(api, "/api/v1/me/close", {"password": PASSWORD, "email_code": code}).status_code == 204
    user.refresh_from_db()
    assert not user.is_active and user.closed_at is not None
    login = post(api, "/api/v1/auth/login", {"account": user.email, "password": PASSWORD})
    assert login.status_code == 401


def test_account_close_refused_with_open_orders(traders, client, django_capture_on_commit_callbacks, place):
    alice, _ = traders
    client.force_login(alice, backend="apps.users.backends.ContactBackend")
    place(alice, "buy", price="100", quantity="1")
    code = email_code(client, django_capture_on_commit_callbacks)
    response = post(client, "/api/v1/me/close", {"password": PASSWORD, "email_code": code})
    assert response.status_code == 409 and "open orders" in response.json()["msg"]


def test_dictionary_and_time(client, tokens):
    from apps.kyc.models import KycCountry

    KycCountry.objects.create(code="SG", name="Singapore", corporate_allowed=False)
    body = client.get("/api/v1/dictionary").json()
    assert "partially_filled" in body["order_statuses"]
    assert [level["level"] for level in body["kyc_levels"]] == [1, 2, 3]
    assert body["countries"] == [{"code": "SG", "name": "Singapore", "individual": True, "corporate": False}]
    assert {"token": "USDT", "chain": "TRC20"}.items() <= body["chains"][-1].items()
    assert client.get("/api/v1/time").json()["server_time"] > 0


def test_balances_endpoint(user_client, tokens, fund):
    client, user = user_client
    fund(user, "BTC", "1.5")
    rows = client.get("/api/v1/account/balances").json()
    assert {"token": "BTC", "available": "1.5"}.items() <= rows[0].items()


def test_closed_user_cannot_use_session(user_client):
    client, user = user_client
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/v1/me").status_code == 403
