"""Webhook registration through the Org API (signing and retries: tests/events/test_webhooks.py)."""

from __future__ import annotations

import pytest

from apps.core.crypto import secret_decrypt
from apps.events.models import Webhook

pytestmark = pytest.mark.django_db


def test_create_list_update_delete(api, org):
    params = {"client_order_id": "wh-1", "url": "https://hooks.example.com/broker", "event_types": "org.tradeMatch"}
    created = api.post("webhook/create", params)
    assert created.status == 200 and created.body["event_types"] == ["org.tradeMatch"]
    webhook = Webhook.objects.get(organization=org)
    assert secret_decrypt(webhook.secret_encrypted) == created.body["secret"]
    assert api.post("webhook/create", params).body == created.body  # same webhook, same secret
    assert Webhook.objects.count() == 1

    [listed] = api.get("webhook/list").body
    assert listed["webhook_id"] == webhook.pk and "secret" not in listed

    updated = api.post(
        "webhook/update", {"client_order_id": "wh-2", "webhook_id": webhook.pk, "enabled": "false", "event_types": "*"}
    )
    assert updated.body["enabled"] is False and updated.body["event_types"] == []
    deleted = api.post("webhook/delete", {"client_order_id": "wh-3", "webhook_id": webhook.pk})
    assert deleted.body == {"webhook_id": webhook.pk, "deleted": True} and not Webhook.objects.exists()


def test_bad_urls_and_types_are_refused(api):
    ftp = api.post("webhook/create", {"client_order_id": "w1", "url": "ftp://example.com/x"})
    unknown = api.post("webhook/create", {"client_order_id": "w2", "url": "https://e.com/x", "event_types": "org.nope"})
    assert ftp.code == unknown.code == 1101
    assert not Webhook.objects.exists()


def test_read_only_key_cannot_register(readonly_api):
    answer = readonly_api.post("webhook/create", {"client_order_id": "w1", "url": "https://hooks.example.com/x"})
    assert answer.code == 1011 and not Webhook.objects.exists()
