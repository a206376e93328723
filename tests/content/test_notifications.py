"""User notifications from outbox events: channels by preference, language, idempotency, triggers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from django.test import RequestFactory
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts import funding
from apps.content import services
from apps.content.models import DeliveryStatus, Message, NotificationDelivery
from apps.content.notifications import notify_events
from apps.events.models import OutboxEvent
from apps.events.tasks import deliver_events
from apps.kyc.models import KycApplication, KycCountry
from apps.kyc.services import kyc_application_approve, kyc_application_reject
from apps.users.login import login_succeeded
from apps.users.security import fund_password_set, security_record
from tests.accounts.test_funding_fixtures import totp_code

pytestmark = pytest.mark.django_db

FUND_PASSWORD = "fund secret 4321 long"


def credit_deposit(user, capture, amount="0.3", txid="tx-1"):
    address = funding.deposit_address_get(user=user, token_id="BTC")
    with capture(execute=True):
        funding.deposit_observe(
            token_id="BTC",
            chain="BTC",
            txid=txid,
            output_index=0,
            address=address.address,
            amount=amount,
            confirmations=2,
        )
    return OutboxEvent.objects.get(type="deposit.credited", user=user, payload__txid=txid)


def test_deposit_credited_sends_email_and_message_by_default(
    make_user, tokens, django_capture_on_commit_callbacks, sms_outbox
):
    user = make_user(email="alice@example.com", phone="+821012345678")
    event = credit_deposit(user, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["alice@example.com"]
    assert email.subject == "Deposit credited: 0.3 BTC"
    assert "Your deposit of 0.3 BTC has been credited to your account." in email.body
    assert "tx-1" in email.body
    html = email.alternatives[0]
    assert html[1] == "text/html" and "0.3 BTC" in html[0]
    message = Message.objects.get(user=user)
    assert message.kind == "account" and message.title == "Deposit credited: 0.3 BTC"
    assert sms_outbox == []  # SMS for deposits is off by default
    rows = NotificationDelivery.objects.filter(event=event)
    assert {(r.channel, r.status) for r in rows} == {("email", "sent"), ("message", "sent")}


def test_redelivered_event_never_sends_twice(make_user, tokens, django_capture_on_commit_callbacks):
    user = make_user()
    event = credit_deposit(user, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert notify_events([event.pk]) == 0
    deliver_events([event.pk])  # the whole delivery again, as the sweeper or a task retry would
    assert len(mail.outbox) == 1
    assert Message.objects.filter(user=user).count() == 1
    assert NotificationDelivery.objects.filter(event=event).count() == 2


def test_failed_send_is_recorded_and_retried_on_redelivery(
    make_user, tokens, settings, django_capture_on_commit_callbacks
):
    user = make_user()
    settings.EMAIL_BACKEND = "tests.content.test_notifications.BrokenEmailBackend"
    event = credit_deposit(user, django_capture_on_commit_callbacks)  # the deposit itself is unaffected
    failed = NotificationDelivery.objects.get(event=event, channel="email")
    assert failed.status == DeliveryStatus.FAILED and "SMTP down" in failed.error
    assert Message.objects.filter(user=user).count() == 1  # other channels went out
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notify_events([event.pk]) == 1
    retried = NotificationDelivery.objects.get(event=event, channel="email")
    assert retried.status == DeliveryStatus.SENT and retried.attempts == 2
    assert len(mail.outbox) == 1 and Message.objects.filter(user=user).count() == 1


class BrokenEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("SMTP down")


def test_preferences_choose_the_channels(make_user, tokens, django_capture_on_commit_callbacks, sms_outbox):
    user = make_user(phone="+821099998888")
    services.notification_preferences_update(
        user=user, changes={"deposit": {"email": False, "sms": True, "message": False}}
    )
    credit_deposit(user, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert Message.objects.filter(user=user).count() == 0
    assert [m.to for m in sms_outbox] == ["+821099998888"]
    assert sms_outbox[0].body == "[Test Broker] Your deposit of 0.3 BTC has been credited."


def test_email_in_the_users_language(make_user, tokens, django_capture_on_commit_callbacks):
    korean = make_user(email="kim@example.com", language="ko")
    chinese = make_user(email="wang@example.com", language="zh-hans")
    credit_deposit(korean, django_capture_on_commit_callbacks, txid="tx-ko")
    credit_deposit(chinese, django_capture_on_commit_callbacks, txid="tx-zh")
    by_to = {m.to[0]: m for m in mail.outbox}
    assert by_to["kim@example.com"].subject == "입금 완료: 0.3 BTC"
    assert "0.3 BTC 입금이 계정에 반영되었습니다." in by_to["kim@example.com"].body
    assert "안녕하세요" in by_to["kim@example.com"].body
    assert by_to["wang@example.com"].subject == "充值已到账：0.3 BTC"
    assert "您充值的 0.3 BTC 已存入您的账户。" in by_to["wang@example.com"].body
    assert Message.objects.get(user=korean).title == "입금 완료: 0.3 BTC"


def test_security_change_texts_by_default(make_user, django_capture_on_commit_callbacks, sms_outbox):
    user = make_user(email="sec@example.com", phone="+821055556666")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        security_record(user=user, action="totp_unbind")
    assert [m.subject for m in mail.outbox] == ["Security settings changed"]
    assert "Google Authenticator was removed from your account." in mail.outbox[0].body
    assert len(sms_outbox) == 1 and "Google Authenticator was removed" in sms_outbox[0].body
    assert Message.objects.get(user=user).kind == "security"


def test_staff_freezes_are_not_announced(make_user, django_capture_on_commit_callbacks, make_staff):
    user = make_user()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        security_record(user=user, action="freeze", acting_user=make_staff(), kind="withdraw")
    assert mail.outbox == [] and not Message.objects.filter(user=user).exists()


def test_password_change_through_the_service_notifies(make_user, django_capture_on_commit_callbacks):
    from apps.users.security import Factors, password_change

    user = make_user(email="pw@example.com")
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    from tests.users.helpers import totp_now

    with django_capture_on_commit_callbacks(execute=True):
        password_change(
            user=user,
            old_password="correct horse battery staple",
            new_password="another long passphrase 42",
            factors=Factors(totp_code=totp_now(device)),
        )
    assert [m.subject for m in mail.outbox] == ["Security settings changed"]
    assert "Your login password was changed." in mail.outbox[0].body


def _login(user, capture, ip, agent):
    request = RequestFactory().post("/api/v1/auth/login", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    with capture(execute=True):
        login_succeeded(request=request, user=user)


def test_login_from_a_new_ip_or_device_alerts(make_user, django_capture_on_commit_callbacks):
    user = make_user(email="login@example.com")
    capture = django_capture_on_commit_callbacks
    _login(user, capture, "10.0.0.1", "Firefox")  # first login ever (registration): nothing to compare
    _login(user, capture, "10.0.0.1", "Firefox")  # known IP and device
    assert mail.outbox == []
    _login(user, capture, "10.0.0.2", "Firefox")
    assert [m.subject for m in mail.outbox] == ["New login to your account"]
    assert "new IP address." in mail.outbox[0].body and "10.0.0.2" in mail.outbox[0].body
    _login(user, capture, "10.0.0.2", "Mobile Safari")
    assert "new device." in mail.outbox[1].body and "Mobile Safari" in mail.outbox[1].body
    _login(user, capture, "10.0.0.1", "Mobile Safari")
    assert len(mail.outbox) == 2


def test_kyc_results(make_user, make_staff, django_capture_on_commit_callbacks):
    user = make_user(email="kyc@example.com", language="ko")
    reviewer = make_staff("kyc.review_kycapplication")
    country, _ = KycCountry.objects.get_or_create(code="KR", defaults={"name": "Korea"})
    first = KycApplication.objects.create(user=user, level=1, country=country)
    with django_capture_on_commit_callbacks(execute=True):
        kyc_application_reject(application=first, acting_user=reviewer, reason="Blurry photo")
    second = KycApplication.objects.create(user=user, level=1, country=country)
    with django_capture_on_commit_callbacks(execute=True):
        kyc_application_approve(application=second, acting_user=reviewer)
    rejected, approved = mail.outbox
    assert rejected.subject == "본인 인증 미승인"
    assert "Blurry photo" in rejected.body
    assert approved.subject == "본인 인증 승인 완료"


def test_withdrawal_status_changes(make_user, make_staff, tokens, fund, django_capture_on_commit_callbacks):
    user = make_user(email="wd@example.com", kyc_level=1)
    fund_password_set(user=user, password=FUND_PASSWORD)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    fund(user, "BTC", "2")
    user.organization.withdraw_auto_approve_threshold = Decimal("0")
    user.organization.save()
    staff = make_staff("accounts.approve_withdrawal")
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = funding.withdrawal_request(
            user=user,
            token_id="BTC",
            amount="0.5",
            address="bc1qexampleaddress000000000000000000000",
            fund_password=FUND_PASSWORD,
            totp_code=totp_code(user),
        )
    assert [m.subject for m in mail.outbox] == ["Withdrawal request received: 0.5 BTC"]
    with django_capture_on_commit_callbacks(execute=True):
        funding.withdrawal_reject(withdrawal_id=withdrawal.pk, acting_user=staff, reason="Address on a sanctions list")
    assert mail.outbox[1].subject == "Withdrawal rejected: 0.5 BTC"
    assert "Address on a sanctions list" in mail.outbox[1].body
    assert "The funds are available in your account again." in mail.outbox[1].body


def test_events_of_other_kinds_and_staff_are_ignored(make_user, make_staff):
    user = make_user()
    staff = make_staff()
    with transaction.atomic():
        from apps.events.services import event_emit

        quiet = event_emit(type="balance.changed", organization_id=user.organization_id, user=user, payload={})
        staff_event = event_emit(type="user.password.changed", organization_id=None, user=staff, payload={})
    assert notify_events([quiet.pk, staff_event.pk]) == 0
    assert NotificationDelivery.objects.count() == 0
