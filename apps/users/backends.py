"""Authentication backend for end users: email or phone within an organization.

``AUTHENTICATION_BACKENDS`` runs django-axes' standalone backend first (refuses a locked-out
username+IP before any password is checked), then this one, then Django's ``ModelBackend`` for
staff usernames in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from apps.core.errors import BrokerError
from apps.users.models import User
from apps.users.selectors import organization_default, user_find_by_contact
from apps.users.verification import target_normalize


class ContactBackend(ModelBackend):
    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        organization_id: int | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        try:
            target = target_normalize(username)
        except BrokerError:
            return None
        if organization_id is None:
            organization = organization_default()
            if organization is None:
                return None
            organization_id = organization.pk
        user = user_find_by_contact(organization_id=organization_id, target=target)
        if user is None:
            User().set_password(password)  # same cost as a real check: don't reveal which accounts exist
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
