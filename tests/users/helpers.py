"""Helpers for tests that go through verification codes and TOTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.users.sms import InMemorySmsBackend
from apps.users.verification import target_normalize

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def last_code(target: str) -> str:
    """The code most recently delivered to ``target`` (email outbox or the in-memory SMS outbox)."""
    target = target_normalize(target)
    if "@" in target:
        bodies = [m.body for m in mail.outbox if target in m.to]
    else:
        bodies = [m.body for m in InMemorySmsBackend.outbox if m.to == target]
    assert bodies, f"no code was delivered to {target}"
    match = re.search(r"\b(\d{6})\b", bodies[-1])
    assert match
    return match.group(1)


def send_code(client: Any, capture: Any, **payload: Any) -> str:
    """POST /api/v1/codes/send, run the after-commit delivery, return the delivered code."""
    with capture(execute=True):
        response = client.post("/api/v1/codes/send", payload, content_type="application/json")
    assert response.status_code == 200, response.json()
    target = payload.get("target") or ""
    if not target:
        user = response.wsgi_request.user
        target = user.email if payload["channel"] == "email" else user.phone
    return last_code(target)


def totp_now(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():06d}"


def bind_totp(user: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


@pytest.fixture
def sms_outbox(settings: Any) -> list[Any]:
    settings.SMS_BACKEND = "apps.users.sms.InMemorySmsBackend"
    InMemorySmsBackend.outbox.clear()
    return InMemorySmsBackend.outbox


@pytest.fixture
def user_client(client: Any, make_user: Any) -> tuple[Any, Any]:
    """A logged-in client and its user (email only, password "correct horse battery staple")."""
    user = make_user()
    client.force_login(user, backend="apps.users.backends.ContactBackend")
    return client, user
