"""Seed 001 §3.2: the user endpoints, each write with its idempotent retry."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_secret
from apps.content.models import Message
from apps.events.models import OutboxEvent
from apps.kyc.models import KycApplication, KycCountry, KycState
from apps.users.models import FreezeKind, LoginRecord, LoginResult, User, UserFreeze
from apps.users.sms import InMemorySmsBackend

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # make_user's


def test_register_user_once_per_client_order_id(api, org):
    params = {"client_order_id": "reg-1", "email": "New@Example.com", "password": "a fine long passphrase"}
    first = api.post("user/registerUser", params)
    assert first.status == 200
    assert first.body["email"] == "new@example.com" and first.body["kyc_level"] == 0 and first.body["inviter"] is None
    assert first.body["main_account_id"] > 0 and len(first.body["uid"]) == 16
    again = api.post("user/registerUser", params)
    assert again.body == first.body and again.headers["X-Idempotent-Replay"] == "true"
    assert User.objects.filter(organization=org, email="new@example.com").count() == 1
    assert OutboxEvent.objects.filter(type="user.register", payload__email="new@example.com").count() == 1


def test_register_with_an_inviter(api, make_user):
    inviter = make_user()
    by_uid = api.post(
        "user/registerUser", {"client_order_id": "r1", "phone": "+82 10-1234-5678", "inviter_uid": inviter.uid}
    )
    assert by_uid.body["inviter"]["uid"] == str(inviter.uid) and by_uid.body["phone"] == "+821012345678"
    by_code = api.post(
        "user/registerUser", {"client_order_id": "r2", "email": "b@example.com", "invite_code": inviter.invite_code}
    )
    assert by_code.body["inviter"]["uid"] == str(inviter.uid)
    invitees = api.get("user/getInviteList", {"uid": inviter.uid}).body
    assert {u["uid"] for u in invitees} == {by_uid.body["uid"], by_code.body["uid"]}
    assert api.get("user/getInviteList", {"uid": inviter.uid, "list_type": "simple"}).body == [
        by_code.body["uid"],
        by_uid.body["uid"],
    ]


def test_get_info_shows_the_inviter(api, make_user):
    inviter = make_user()
    user = make_user(invited_by=inviter)
    body = api.get("user/getInfo", {"uid": user.uid}).body
    assert body["uid"] == str(user.uid) and body["email"] == user.email
    assert body["inviter"] == {"uid": str(inviter.uid), "email": inviter.email, "phone": ""}


def test_login_returns_a_user_api_session(api, make_user):
    user = make_user()
    params = {"client_order_id": "login-1", "account": user.email, "password": PASSWORD, "user_ip": "203.0.113.9"}
    answer = api.post("user/login", params)
    assert answer.status == 200 and answer.body["user"]["uid"] == str(user.uid)
    browser = Client()
    browser.cookies["sessionid"] = answer.body["token"]
    assert browser.get("/api/v1/me").status_code == 200
    record = LoginRecord.objects.get(user=user, result=LoginResult.SUCCESS)
    assert record.ip == "203.0.113.9"  # the end user's address, not the broker's server
    assert OutboxEvent.objects.filter(type="user.login", user=user).count() == 1
    again = api.post("user/login", params)
    assert again.body["token"] == answer.body["token"]  # the same session, stored encrypted
    assert OutboxEvent.objects.filter(type="user.login", user=user).count() == 1


def test_wrong_password_is_1105_and_recorded(api, make_user):
    user = make_user()
    answer = api.post(
        "user/login", {"client_order_id": "login-1", "account": user.email, "password": "wrong password!"}
    )
    assert (answer.status, answer.body) == (400, {"code": 1105, "msg": "Username or password is incorrect"})
    assert LoginRecord.objects.filter(account=user.email, result=LoginResult.WRONG_PASSWORD).exists()
    # the refusal stored nothing: the same id logs in once the password is right
    ok = api.post("user/login", {"client_order_id": "login-1", "account": user.email, "password": PASSWORD})
    assert ok.status == 200


def test_login_asks_for_totp_when_bound(api, make_user):
    user = make_user()
    TOTPDevice.objects.create(user=user, name="GA", confirmed=True)
    answer = api.post("user/login", {"client_order_id": "login-1", "account": user.email, "password": PASSWORD})
    assert (answer.status, answer.code) == (400, 1109)


def test_update_info(api, make_user):
    user = make_user()
    TOTPDevice.objects.create(user=user, name="GA", confirmed=True)
    params = {
        "client_order_id": "upd-1",
        "uid": user.uid,
        "phone": "+8210 5555 1234",
        "password": "another long passphrase",
        "fund_password": "a different fund secret",
        "totp_reset": "true",
        "language": "ko",
    }
    answer = api.post("user/updateInfo", params)
    assert answer.status == 200 and answer.body["phone"] == "+821055551234" and answer.body["language"] == "ko"
    user.refresh_from_db()
    assert user.check_password("another long passphrase") and user.fund_password
    assert not TOTPDevice.objects.filter(user=user).exists()
    actions = set(user.security_records.values_list("action", flat=True))
    assert {"phone_bind", "password_reset", "fund_password_set", "totp_unbind"} <= actions
    assert OutboxEvent.objects.filter(type="user.password.changed", user=user).count() == 1
    assert api.post("user/updateInfo", params).body == answer.body
    assert OutboxEvent.objects.filter(type="user.password.changed", user=user).count() == 1
    # a user keeps an email or a phone
    refused = api.post(
        "user/updateInfo", {"client_order_id": "upd-2", "uid": user.uid, "remove_email": "true", "remove_phone": "true"}
    )
    assert (refused.status, refused.code) == (400, 1101)


def test_kyc_update_then_verify(api, make_user):
    KycCountry.objects.create(code="SG", name="Singapore")
    user = make_user()
    submit = {
        "client_order_id": "kyc-1",
        "uid": user.uid,
        "level": "1",
        "country_code": "SG",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "id_type": "passport",
        "id_number": "E1234567",
    }
    answer = api.post("user/updateKYCInfo", submit)
    assert answer.status == 200 and answer.body["state"] == KycState.SUBMITTED
    assert api.post("user/updateKYCInfo", submit).body == answer.body
    assert KycApplication.objects.filter(user=user).count() == 1
    verify = {"client_order_id": "kyc-ok", "uid": user.uid, "passed": "true"}
    verified = api.post("user/verifyKYC", verify)
    assert verified.body["state"] == KycState.APPROVED and verified.body["kyc_level"] == 1
    assert api.post("user/verifyKYC", verify).body == verified.body
    assert OutboxEvent.objects.filter(type="user.kyc.result", user=user).count() == 1
    nothing_waiting = api.post("user/verifyKYC", {"client_order_id": "kyc-again", "uid": user.uid, "passed": "true"})
    assert (nothing_waiting.status, nothing_waiting.code) == (400, 1107)


def test_kyc_documents_by_multipart_and_rejection(api, make_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    KycCountry.objects.create(code="SG", name="Singapore")
    user = make_user(kyc_level=1)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    answer = api.post_files(
        "user/updateKYCInfo",
        {"client_order_id": "kyc-2", "uid": user.uid, "level": "2", "country_code": "SG"},
        {
            "id_front": SimpleUploadedFile("front.png", png, content_type="image/png"),
            "selfie": SimpleUploadedFile("selfie.png", png, content_type="image/png"),
        },
    )
    assert answer.status == 200 and answer.body["documents"] == ["id_front", "selfie"]
    rejected = api.post(
        "user/verifyKYC", {"client_order_id": "kyc-no", "uid": user.uid, "passed": "false", "reason": "blurry"}
    )
    assert rejected.body["state"] == KycState.REJECTED and rejected.body["reason"] == "blurry"
    assert rejected.body["kyc_level"] == 1


def test_login_history(api, make_user):
    user = make_user()
    api.post("user/login", {"client_order_id": "l1", "account": user.email, "password": PASSWORD})
    api.post(
        "user/login", {"client_order_id": "l2", "account": user.email, "password": PASSWORD, "user_ip": "192.0.2.1"}
    )
    rows = api.get("user/getLoginHistory", {"uid": user.uid}).body
    assert [(r["result"], r["ip"]) for r in rows] == [
        (LoginResult.SUCCESS, "192.0.2.1"),
        (LoginResult.SUCCESS, "127.0.0.1"),
    ]
    older = api.get("user/getLoginHistory", {"uid": user.uid, "from_id": rows[0]["login_id"]}).body
    assert [r["login_id"] for r in older] == [rows[1]["login_id"]]


def test_freeze_and_unfreeze_login(api, make_user):
    user = make_user()
    freeze = {"client_order_id": "fz-1", "uid": user.uid, "frozen": "true", "reason": "fraud check"}
    assert api.post("user/frozenUser", freeze).body == {"uid": str(user.uid), "freeze_type": "login", "frozen": True}
    assert api.post("user/frozenUser", freeze).status == 200
    assert UserFreeze.objects.filter(user=user, kind=FreezeKind.LOGIN, is_active=True).count() == 1
    login = api.post("user/login", {"client_order_id": "l1", "account": user.email, "password": PASSWORD})
    assert (login.status, login.code) == (400, 1110)
    listed = api.get("user/getFrozenUserList").body
    assert [(f["uid"], f["freeze_type"], f["reason"]) for f in listed] == [(str(user.uid), "login", "fraud check")]
    assert api.get("user/getFrozenUserList", {"list_type": "simple"}).body == [str(user.uid)]
    api.post("user/frozenUser", {"client_order_id": "fz-2", "uid": user.uid, "frozen": "false"})
    assert not UserFreeze.objects.filter(user=user, is_active=True).exists()
    assert api.get("user/getFrozenUserList").body == []


def test_favorites(api, make_user, btcusdt):
    user = make_user()
    answer = api.post("user/updateFavorite", {"client_order_id": "fav-1", "uid": user.uid, "symbol_ids": "btcusdt"})
    assert answer.body["symbol_ids"] == ["BTCUSDT"]
    assert api.get("user/getFavoriteList", {"uid": user.uid, "list_type": "simple"}).body == ["BTCUSDT"]
    full = api.get("user/getFavoriteList", {"uid": user.uid}).body
    assert full[0]["symbol_id"] == "BTCUSDT" and full[0]["created_at"]
    cleared = api.post_json("user/updateFavorite", {"client_order_id": "fav-2", "uid": str(user.uid), "symbol_ids": []})
    assert cleared.status == 200 and cleared.body["symbol_ids"] == []
    unknown = api.post("user/updateFavorite", {"client_order_id": "fav-3", "uid": user.uid, "symbol_ids": "NOPE"})
    assert (unknown.status, unknown.code) == (400, 1101)


def test_create_open_api_key_once(api, make_user):
    user = make_user()
    params = {
        "client_order_id": "key-1",
        "uid": user.uid,
        "label": "bot",
        "permissions": "read,trade",
        "ip_whitelist": "198.51.100.7",
    }
    answer = api.post("user/createOpenAPI", params)
    assert answer.status == 200 and answer.body["permissions"] == ["read", "trade"]
    key = ApiKey.objects.get(user=user)
    assert (key.key, api_key_secret(key)) == (answer.body["api_key"], answer.body["secret"])
    again = api.post("user/createOpenAPI", params)
    assert again.body == answer.body  # the same key and secret, not a second key
    assert ApiKey.objects.filter(user=user).count() == 1


def test_send_notice(api, make_user, mailoutbox, settings, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "apps.users.sms.InMemorySmsBackend"
    InMemorySmsBackend.outbox.clear()
    user = make_user(phone="+821099998888")
    params = {
        "client_order_id": "note-1",
        "uid": user.uid,
        "title": "Maintenance",
        "content": "Trading pauses at 02:00 UTC.",
        "channels": "in_site,email,sms",
    }
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post("user/sendNotice", params)
    assert answer.status == 200 and answer.body["channels"] == ["in_site", "email", "sms"]
    message = Message.objects.get(user=user)
    assert (message.pk, message.title) == (answer.body["message_id"], "Maintenance")
    assert [m.to for m in mailoutbox] == [[user.email]]
    assert [m.to for m in InMemorySmsBackend.outbox] == ["+821099998888"]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("user/sendNotice", params).body == answer.body
    assert (
        Message.objects.filter(user=user).count() == 1 and len(mailoutbox) == 1 and len(InMemorySmsBackend.outbox) == 1
    )
