"""Who is calling: the User API's views use ``current_user`` instead of ``request.user``."""

from __future__ import annotations

from rest_framework.request import Request

from apps.core.errors import NotAuthenticated
from apps.users.models import User


def current_user(request: Request) -> User:
    """The logged-in user (views require authentication, so this never sees an anonymous one)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
