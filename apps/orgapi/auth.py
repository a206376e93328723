"""Who is calling: an organization's API key, with the BHEX OpenAPI signature (seed 001 §5.2).

Org API keys (``ApiKey.kind == "org"``, made with ``manage.py create_org_api_key``) always carry an IP
whitelist and are read-only (``read``) or full (``read, trade, withdraw, transfer``). A request sends
the key in ``X-BH-APIKEY`` and ``timestamp`` (ms), optional ``recvWindow`` and ``signature`` = lowercase
hex HMAC-SHA256 with the secret over the raw query string (without ``signature``) directly followed by
the raw body. ``apps.apikeys.auth.bhex_authenticate`` checks all of it; each refusal is an
``ApiAuthError`` mapped to its code in ``apps.orgapi.errors``.

Websocket login signs ``timestamp=<ms>`` (or ``timestamp=<ms>&recvWindow=<ms>``) the same way.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest
from django.utils.translation import gettext as _

from apps.apikeys.auth import bhex_authenticate
from apps.apikeys.models import ApiKey
from apps.core.errors import ApiKeyDisabled
from apps.orgapi.params import Params

API_KEY_HEADER = "X-BH-APIKEY"

security_log = logging.getLogger("apps.orgapi.security")


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "")


def _active(api_key: ApiKey) -> ApiKey:
    if not api_key.organization.is_active:
        raise ApiKeyDisabled(_("The organization of this API key is disabled"))
    return api_key


def org_authenticate(request: HttpRequest, params: Params) -> ApiKey:
    """The organization key of a signed request; raises an ``ApiAuthError`` before anything runs."""
    return _active(
        bhex_authenticate(
            key=request.headers.get(API_KEY_HEADER),
            ip=client_ip(request),
            query=params.query,
            body=params.body,
            timestamp=params.get("timestamp"),
            recv_window=params.get("recvWindow") or params.get("recv_window"),
            kind="org",
        )
    )


def ws_login(
    *, key: str | None, ip: str, timestamp: str | None, recv_window: str | None, signature: str | None
) -> ApiKey:
    """A websocket login frame: the signature covers ``timestamp=<ms>[&recvWindow=<ms>]``."""
    query = f"timestamp={timestamp or ''}"
    if recv_window:
        query += f"&recvWindow={recv_window}"
    if signature:
        query += f"&signature={signature}"
    return _active(
        bhex_authenticate(
            key=key,
            ip=ip,
            query=query.encode(),
            body=b"",
            timestamp=timestamp,
            recv_window=recv_window,
            kind="org",
        )
    )
