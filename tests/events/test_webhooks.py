"""Webhooks: HMAC-signed POSTs to a local server, retries with exponential backoff, every attempt recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.core.crypto import secret_decrypt
from apps.events.delivery import deliver
from apps.events.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from apps.events.tasks import webhooks_retry_due
from apps.events.webhooks import backoff, webhook_attempt, webhook_create
from apps.users.services import user_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(org, receiver):
    return webhook_create(organization=org, url=receiver.url, event_types=["org.userRegister"])


def register(org, email="new@example.com"):
    user = user_create(organization=org, email=email, password=None)
    ids = list(OutboxEvent.objects.filter(user=user).values_list("pk", flat=True))
    deliver(ids)  # what the delivery task does after commit
    return user


def test_secret_is_shown_once_and_stored_encrypted(hook):
    webhook, secret = hook
    assert len(secret) == 64 and secret not in webhook.secret_encrypted
    assert secret_decrypt(webhook.secret_encrypted) == secret


def test_a_delivery_is_signed_and_recorded(org, hook, receiver):
    webhook, secret = hook
    user = register(org)
    delivery = WebhookDelivery.objects.get(webhook=webhook)  # only the subscribed type (not balance events)
    assert webhook_attempt(delivery_id=delivery.pk).status == WebhookDeliveryStatus.SUCCEEDED
    [request] = receiver.requests
    assert request.path == "/hooks/broker"
    timestamp = request.headers["X-Org-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Org-Signature"], expected)
    body = json.loads(request.body)
    assert body["event_type"] == "org.userRegister" and body["event"]["uid"] == str(user.uid)
    assert body["event_id"] == int(request.headers["X-Org-Event-Id"]) == delivery.event.org_seq
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.number, attempt.response_status, attempt.succeeded) == (1, 200, True)
    assert webhook_attempt(delivery_id=delivery.pk) is None  # done: nothing is sent twice
    assert len(receiver.requests) == 1


def test_failures_back_off_exponentially_then_succeed(org, hook, receiver):
    webhook, _ = hook
    receiver.statuses = [500, 503]
    register(org)
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        failed = webhook_attempt(delivery_id=delivery.pk)
        assert failed.status == WebhookDeliveryStatus.PENDING and failed.attempts == 1
        assert failed.next_attempt_at == start + timedelta(seconds=10) and failed.last_error == "HTTP 500"
        assert webhook_attempt(delivery_id=delivery.pk) is None  # not due yet: no request
        assert webhooks_retry_due() == 0
    with time_machine.travel(start + timedelta(seconds=11), tick=False):
        assert webhooks_retry_due() == 1  # queued and (tasks run in-process) tried: 503
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and delivery.next_attempt_at == start + timedelta(seconds=31)
    with time_machine.travel(start + timedelta(seconds=32), tick=False):
        webhooks_retry_due()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED and delivery.attempts == 3
    attempts = list(
        WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "response_status", "succeeded")
    )
    assert attempts == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert len(receiver.requests) == 3


def test_backoff_doubles_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30).total_seconds() == 3600


def test_gives_up_after_the_last_attempt(org, hook, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [500, 500, 500]
    register(org)
    delivery = WebhookDelivery.objects.get()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        webhook_attempt(delivery_id=delivery.pk)
    with time_machine.travel(start + timedelta(seconds=11), tick=False):
        final = webhook_attempt(delivery_id=delivery.pk)
    assert final.status == WebhookDeliveryStatus.FAILED and final.attempts == 2
    with time_machine.travel(start + timedelta(days=1), tick=False):
        assert webhooks_retry_due() == 0
    assert len(receiver.requests) == 2


def test_unreachable_endpoint_is_recorded_as_an_error(org):
    webhook_create(organization=org, url="http://127.0.0.1:9/nothing-listens-here")
    register(org)
    delivery = WebhookDelivery.objects.filter(event__type="user.register").get()
    result = webhook_attempt(delivery_id=delivery.pk)
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert result.status == WebhookDeliveryStatus.PENDING
    assert attempt.response_status is None and attempt.error and not attempt.succeeded


def test_only_subscribed_types_and_own_organization(org, other_org, hook, receiver):
    webhook, _ = hook
    webhook_create(organization=other_org, url=receiver.url)
    register(org)
    assert list(WebhookDelivery.objects.values_list("webhook_id", flat=True)) == [webhook.pk]


def test_a_disabled_webhook_gets_no_deliveries(org, hook):
    webhook, _ = hook
    webhook.enabled = False
    webhook.save()
    register(org)
    assert not WebhookDelivery.objects.exists()


def test_private_addresses_are_refused_when_configured(org, settings):
    from apps.core.errors import InvalidParameter

    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(InvalidParameter):
        webhook_create(organization=org, url="http://127.0.0.1:8000/hook")
    with pytest.raises(InvalidParameter):
        webhook_create(organization=org, url="ftp://example.com/hook")


def test_attempts_are_visible_in_the_admin(org, hook, receiver, admin_client):
    receiver.statuses = [500]
    register(org)
    delivery = WebhookDelivery.objects.get()
    webhook_attempt(delivery_id=delivery.pk)
    page = admin_client.get(f"/admin/events/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert b"HTTP 500" in page.content and b"try later" in page.content
    listing = admin_client.get("/admin/events/webhookattempt/")
    assert listing.status_code == 200 and b"HTTP 500" in listing.content
