"""Fixtures of the content tests: staff with content permissions, logged-in clients, outboxes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from apps.users.models import User
from apps.users.sms import InMemorySmsBackend


@pytest.fixture
def make_staff(db: Any) -> Callable[..., User]:
    counter = {"n": 0}

    def make(*perms: str) -> User:
        counter["n"] += 1
        staff = User.objects.create_user(
            username=f"content-staff{counter['n']}", password="x", is_staff=True, email=f"s{counter['n']}@b.test"
        )
        for perm in perms:
            app_label, codename = perm.split(".")
            staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return User.objects.get(pk=staff.pk)  # fresh: no permission cache

    return make


@pytest.fixture
def publisher(make_staff: Callable[..., User]) -> User:
    return make_staff(
        "content.publish_announcement",
        "content.add_announcement",
        "content.change_announcement",
        "content.view_announcement",
        "content.add_message",
        "content.view_message",
    )


@pytest.fixture
def login(client: Any) -> Callable[[User], Any]:
    def log_in(user: User) -> Any:
        client.force_login(user, backend="apps.users.backends.ContactBackend")
        return client

    return log_in


@pytest.fixture
def sms_outbox(settings: Any) -> list[Any]:
    settings.SMS_BACKEND = "apps.users.sms.InMemorySmsBackend"
    InMemorySmsBackend.outbox.clear()
    return InMemorySmsBackend.outbox
