"""``user/login``: the broker's back end logs a user in with their password (seed 001 §3.2).

The answer's ``token`` is the key of a new User API session (the ``sessionid`` cookie of
``/api/v1/``), so the broker's own front end can continue as that user. The password check and the
TOTP step are the User API's own services (django-axes lockout, ``LoginRecord`` rows, ``user.login``
event); the end user's IP and user agent may be passed so the login history and the lockout see the
user rather than the broker's server.
"""

from __future__ import annotations

import copy
import ipaddress
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.http import HttpRequest
from django.utils.translation import gettext as _

from apps.core.errors import InvalidParameter
from apps.users.models import User

BACKEND = "apps.users.backends.ContactBackend"


def as_end_user(request: HttpRequest, *, ip: str | None, user_agent: str | None) -> HttpRequest:
    """A copy of the request that carries the end user's address and user agent."""
    proxy = copy.copy(request)
    proxy.META = dict(request.META)
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidParameter(_("user_ip must be an IP address")) from None
        proxy.META["REMOTE_ADDR"] = ip
    if user_agent:
        proxy.META["HTTP_USER_AGENT"] = user_agent[:255]
    return proxy


def session_open(user: User) -> str:
    """A logged-in User API session for ``user`` (what ``django.contrib.auth.login`` stores)."""
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)  # type: ignore[union-attr]
    session[BACKEND_SESSION_KEY] = BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return str(session.session_key)
