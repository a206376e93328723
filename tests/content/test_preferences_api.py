"""Notification preferences over the User API."""

from __future__ import annotations

import pytest

from apps.content.models import NotificationPreference

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/preferences"


def test_defaults_without_a_row(client, make_user, login):
    user = make_user()
    login(user)
    body = client.get(URL).json()
    assert body["deposit"] == {"email": True, "sms": False, "message": True}
    assert body["security"] == {"email": True, "sms": True, "message": True}
    assert set(body) == {"deposit", "withdrawal", "login", "security", "kyc"}
    assert not NotificationPreference.objects.filter(user=user).exists()


def test_patch_changes_only_what_is_named(client, make_user, login):
    user = make_user()
    login(user)
    response = client.patch(URL, {"login": {"email": False}, "kyc": {"sms": True}}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["login"] == {"email": False, "sms": False, "message": True}
    assert body["kyc"] == {"email": True, "sms": True, "message": True}
    assert client.get(URL).json() == body
    saved = NotificationPreference.objects.get(user=user)
    assert saved.login_email is False and saved.kyc_sms is True and saved.deposit_email is True


def test_patch_rejects_non_booleans(client, make_user, login):
    login(make_user())
    response = client.patch(URL, {"login": {"email": "often"}}, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "INVALID_PARAMETER"


def test_needs_login(client):
    assert client.get(URL).status_code in (401, 403)
