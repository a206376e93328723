"""HTTP tests: registration, verification codes, login (password + TOTP), lockout, CSRF, reset."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.events.models import OutboxEvent
from apps.users.models import FreezeKind, LoginRecord, User, VerificationCode
from apps.users.services import user_freeze
from tests.users import helpers
from tests.users.helpers import bind_totp, send_code, totp_now

sms_outbox = helpers.sms_outbox  # shared fixture

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
JSON = "application/json"


def post(client, url, data=None, **extra):
    return client.post(url, data or {}, content_type=JSON, **extra)


def test_register_by_email_logs_in_and_emits_events(client, org, django_capture_on_commit_callbacks):
    code = send_code(client, django_capture_on_commit_callbacks, purpose="register", target="New@Example.com")
    response = post(client, "/api/v1/auth/register", {"target": "new@example.com", "code": code, "password": PASSWORD})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "new@example.com" and body["kyc_level"] == 0 and len(body["invite_code"]) == 8
    assert client.get("/api/v1/me").json()["uid"] == body["uid"]
    user = User.objects.get(email="new@example.com")
    assert user.organization == org
    types = set(OutboxEvent.objects.filter(user=user).values_list("type", flat=True))
    assert {"user.register", "user.login"} <= types
    assert post(client, "/api/v1/auth/logout").status_code == 200
    assert client.get("/api/v1/me").status_code == 403


def test_register_by_phone_with_sms_code_and_inviter(
    client, org, make_user, sms_outbox, django_capture_on_commit_callbacks
):
    inviter = make_user()
    code = send_code(client, django_capture_on_commit_callbacks, purpose="register", target="+82 10-1234-5678")
    response = post(
        client,
        "/api/v1/auth/register",
        {"target": "+821012345678", "code": code, "password": PASSWORD, "invite_code": inviter.invite_code},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["phone"] == "+821012345678"
    assert response.json()["inviter_uid"] == str(inviter.uid)
    assert sms_outbox[-1].to == "+821012345678"


def test_codes_are_stored_hashed(client, org, django_capture_on_commit_callbacks):
    code = send_code(client, django_capture_on_commit_callbacks, purpose="register", target="a@example.com")
    row = VerificationCode.objects.get(target="a@example.com")
    assert code not in row.code_hash and len(row.code_hash) == 64


def test_wrong_expired_and_reused_codes_are_refused(client, org, django_capture_on_commit_callbacks):
    code = send_code(client, django_capture_on_commit_callbacks, purpose="register", target="a@example.com")
    wrong = "000000" if code != "000000" else "111111"
    data = {"target": "a@example.com", "code": wrong, "password": PASSWORD}
    response = post(client, "/api/v1/auth/register", data)
    assert response.status_code == 400 and response.json()["code"] == "CODE_INVALID"
    assert not User.objects.filter(email="a@example.com").exists()
    # expired
    VerificationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(client, "/api/v1/auth/register", {**data, "code": code})
    assert response.json()["code"] == "CODE_INVALID"
    # a fresh code works once; the second use is refused
    VerificationCode.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    code = send_code(client, django_capture_on_commit_callbacks, purpose="register", target="b@example.com")
    ok = post(client, "/api/v1/auth/register", {"target": "b@example.com", "code": code, "password": PASSWORD})
    assert ok.status_code == 201
    post(client, "/api/v1/auth/logout")
    reused = post(client, "/api/v1/auth/register", {"target": "b@example.com", "code": code, "password": PASSWORD})
    assert reused.status_code == 409  # the email is taken now; the code is spent anyway
    assert VerificationCode.objects.get(target="b@example.com").used_at is not None


def test_code_attempt_limit_kills_the_code(client, org, settings, django_capture_on_commit_callbacks):
    settings.VERIFICATION_CODE_MAX_ATTEMPTS = 3
    code = send_code(client, django_capture_on_commit_callbacks, purpose="register", target="a@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        response = post(
            client, "/api/v1/codes/verify", {"purpose": "register", "target": "a@example.com", "code": wrong}
        )
        assert response.status_code == 400
    status = client.get("/api/v1/codes/status", {"purpose": "register", "target": "a@example.com"}).json()
    assert status["active"] is False and status["attempts_left"] == 0
    response = post(client, "/api/v1/codes/verify", {"purpose": "register", "target": "a@example.com", "code": code})
    assert response.json()["code"] == "CODE_INVALID"


def test_verify_and_status_and_resend_cooldown(client, org, django_capture_on_commit_callbacks):
    code = send_code(client, django_capture_on_commit_callbacks, purpose="register", target="a@example.com")
    status = client.get("/api/v1/codes/status", {"purpose": "register", "target": "a@example.com"}).json()
    assert status["active"] is True and 0 < status["expires_in"] <= 300 and status["resend_in"] > 0
    assert status["attempts_left"] == 5
    response = post(client, "/api/v1/codes/verify", {"purpose": "register", "target": "a@example.com", "code": code})
    assert response.json() == {"ok": True}
    again = post(client, "/api/v1/codes/send", {"purpose": "register", "target": "a@example.com"})
    assert again.status_code == 429 and again.json()["code"] == "CODE_COOLDOWN"


def test_register_code_refused_for_a_taken_email_and_check_endpoint(client, org, make_user):
    make_user(email="taken@example.com")
    assert client.get("/api/v1/auth/check", {"target": "TAKEN@example.com"}).json() == {"taken": True}
    assert client.get("/api/v1/auth/check", {"target": "free@example.com"}).json() == {"taken": False}
    response = post(client, "/api/v1/codes/send", {"purpose": "register", "target": "taken@example.com"})
    assert response.status_code == 409
    bad = client.get("/api/v1/auth/check", {"target": "12"})
    assert bad.status_code == 400 and set(bad.json()) == {"code", "msg"}


def test_login_with_password_records_history(client, org, make_user):
    user = make_user(email="alice@example.com")
    response = post(
        client,
        "/api/v1/auth/login",
        {"account": "alice@example.com", "password": PASSWORD},
        HTTP_USER_AGENT="pytest-agent",
    )
    assert response.status_code == 200 and response.json()["status"] == "ok"
    history = client.get("/api/v1/me/login-history").json()
    assert history[0]["result"] == "success" and history[0]["user_agent"] == "pytest-agent"
    assert history[0]["ip"] == "127.0.0.1"
    assert OutboxEvent.objects.filter(user=user, type="user.login").exists()


def test_wrong_password_then_lockout_by_username_and_ip(client, org, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user(email="alice@example.com")
    for _ in range(2):
        response = post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": "wrong"})
        assert response.status_code == 401 and response.json()["code"] == "WRONG_CREDENTIALS"
    third = post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": "wrong"})
    assert third.status_code == 429  # the failure that reaches the limit locks
    locked = post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "LOGIN_LOCKED"
    assert client.get("/api/v1/me").status_code == 403
    assert LoginRecord.objects.filter(account="alice@example.com", result="locked").exists()
    # Another IP is not locked out (the lockout is per username + IP).
    other = post(
        client, "/api/v1/auth/login", {"account": "alice@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert other.status_code == 200


def test_a_good_password_clears_earlier_failures(client, org, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user(email="alice@example.com")
    for _ in range(2):
        post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": "wrong"})
    assert post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": PASSWORD}).status_code == 200
    post(client, "/api/v1/auth/logout")
    for _ in range(2):
        response = post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": "wrong"})
        assert response.status_code == 401


def test_lockout_cools_off(client, org, make_user, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    make_user(email="alice@example.com")
    for _ in range(2):
        post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": "wrong"})
    assert post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": PASSWORD}).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    assert post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": PASSWORD}).status_code == 200


def test_login_with_totp_step(client, org, make_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp slows down retries after a failure
    user = make_user(email="alice@example.com")
    device = bind_totp(user)
    first = post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": PASSWORD})
    assert first.json() == {"status": "totp_required"}
    assert client.get("/api/v1/me").status_code == 403  # not logged in before the TOTP step
    wrong = post(client, "/api/v1/auth/login/totp", {"code": "000000" if totp_now(device) != "000000" else "111111"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "WRONG_SECOND_FACTOR"
    ok = post(client, "/api/v1/auth/login/totp", {"code": totp_now(device)})
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    assert client.get("/api/v1/me").json()["totp_bound"] is True
    results = list(LoginRecord.objects.filter(user=user).order_by("id").values_list("result", flat=True))
    assert results == ["totp_required", "wrong_totp", "success"]


def test_totp_step_without_password_step_is_refused(client, org):
    response = post(client, "/api/v1/auth/login/totp", {"code": "123456"})
    assert response.status_code == 403 and response.json()["code"] == "SECOND_FACTOR_REQUIRED"


def test_login_freeze_blocks_login(client, org, make_user):
    user = make_user(email="alice@example.com")
    staff = User.objects.create_user(username="staff", password="x", is_staff=True)
    user_freeze(user=user, kind=FreezeKind.LOGIN, reason="fraud investigation", acting_user=staff)
    response = post(client, "/api/v1/auth/login", {"account": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 403 and response.json()["code"] == "ACCOUNT_FROZEN"


def test_csrf_is_required_for_anonymous_and_logged_in_writes(org, make_user):
    make_user(email="alice@example.com")
    client = Client(enforce_csrf_checks=True)
    data = {"account": "alice@example.com", "password": PASSWORD}
    missing = post(client, "/api/v1/auth/login", data)
    assert missing.status_code == 403 and "CSRF" in missing.json()["msg"]
    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    assert post(client, "/api/v1/auth/login", data, HTTP_X_CSRFTOKEN=token).status_code == 200
    token = client.cookies["csrftoken"].value  # rotated at login
    no_token = client.patch("/api/v1/me", {"language": "ko"}, content_type=JSON)
    assert no_token.status_code == 403
    with_token = client.patch("/api/v1/me", {"language": "ko"}, content_type=JSON, HTTP_X_CSRFTOKEN=token)
    assert with_token.status_code == 200 and with_token.json()["language"] == "ko"


def test_forgot_password_reset_by_code(client, org, make_user, django_capture_on_commit_callbacks):
    user = make_user(email="alice@example.com")
    code = send_code(client, django_capture_on_commit_callbacks, purpose="reset_password", target="alice@example.com")
    new = "a brand new passphrase 9"
    response = post(
        client, "/api/v1/auth/password/reset", {"target": "alice@example.com", "code": code, "new_password": new}
    )
    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    assert user.check_password(new)
    assert OutboxEvent.objects.filter(user=user, type="user.password.changed").exists()
    again = post(
        client, "/api/v1/auth/password/reset", {"target": "alice@example.com", "code": code, "new_password": PASSWORD}
    )
    assert again.json()["code"] == "CODE_INVALID"


def test_forgot_password_for_unknown_account_sends_nothing(client, org, django_capture_on_commit_callbacks):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "/api/v1/codes/send", {"purpose": "reset_password", "target": "ghost@example.com"})
    assert response.status_code == 200
    assert mail.outbox == []


def test_forgot_password_needs_totp_when_bound(client, org, make_user, django_capture_on_commit_callbacks):
    user = make_user(email="alice@example.com")
    device = bind_totp(user)
    code = send_code(client, django_capture_on_commit_callbacks, purpose="reset_password", target="alice@example.com")
    data = {"target": "alice@example.com", "code": code, "new_password": "a brand new passphrase 9"}
    missing = post(client, "/api/v1/auth/password/reset", data)
    assert missing.status_code == 403 and missing.json()["code"] == "SECOND_FACTOR_REQUIRED"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    ok = post(client, "/api/v1/auth/password/reset", {**data, "totp_code": totp_now(device)})
    assert ok.status_code == 200


def test_code_sends_are_rate_limited_per_ip(client, org, settings):
    settings.VERIFICATION_CODE_SEND_RATE = "2/hour"
    for n in range(2):
        response = post(client, "/api/v1/codes/send", {"purpose": "register", "target": f"u{n}@example.com"})
        assert response.status_code == 200
    limited = post(client, "/api/v1/codes/send", {"purpose": "register", "target": "u9@example.com"})
    assert limited.status_code == 429 and limited.json()["code"] == "THROTTLED" and "Retry-After" in limited
    assert not VerificationCode.objects.filter(target="u9@example.com").exists()
