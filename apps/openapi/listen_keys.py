"""User data stream listen keys (reference ``user-data-stream.md``), kept in the shared cache.

A listen key is a 64-character random token created by a signed ``POST userDataStream``; it stays
valid for 60 minutes after its creation or its last keepalive (``PUT``), and ``DELETE`` ends it at
once, closing the websockets opened with it (they join the group ``openapi.listen.<key>``). The
cache is Redis in the services mode, so every daphne process sees the same keys.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

from apps.apikeys.models import ApiKey
from apps.openapi.errors import OpenApiError

logger = logging.getLogger(__name__)

LISTEN_KEY_TTL_SECONDS = 3600
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _cache_key(listen_key: str) -> str:
    return f"openapi:listenkey:{listen_key}"


def listen_group(listen_key: str) -> str:
    return f"openapi.listen.{listen_key}"


def listen_key_create(*, api_key: ApiKey) -> str:
    listen_key = "".join(secrets.choice(_ALPHABET) for _ in range(64))
    assert api_key.user is not None
    entry = {"api_key_id": api_key.pk, "user_id": api_key.user_id, "uid": api_key.user.uid}
    cache.set(_cache_key(listen_key), entry, timeout=LISTEN_KEY_TTL_SECONDS)
    return listen_key


def listen_key_get(listen_key: str) -> dict[str, Any] | None:
    if not listen_key or len(listen_key) > 128:
        return None
    entry = cache.get(_cache_key(listen_key))
    return entry if isinstance(entry, dict) else None


def _owned(api_key: ApiKey, listen_key: str) -> dict[str, Any]:
    entry = listen_key_get(listen_key)
    if entry is None or entry.get("user_id") != api_key.user_id:
        raise OpenApiError(-1125, "This listenKey does not exist.")
    return entry


def listen_key_keepalive(*, api_key: ApiKey, listen_key: str) -> None:
    entry = _owned(api_key, listen_key)
    cache.set(_cache_key(listen_key), entry, timeout=LISTEN_KEY_TTL_SECONDS)


def listen_key_close(*, api_key: ApiKey, listen_key: str) -> None:
    _owned(api_key, listen_key)
    cache.delete(_cache_key(listen_key))
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(listen_group(listen_key), {"type": "listen.closed"})
    except Exception:  # the key is gone either way; open sockets notice it at their next ping
        logger.exception("could not notify the streams of listen key %s…", listen_key[:8])


def stream_still_valid(entry: dict[str, Any], listen_key: str) -> bool:
    """The key still exists and the API key that created it is still enabled."""
    if listen_key_get(listen_key) is None:
        return False
    return ApiKey.objects.filter(pk=entry["api_key_id"], enabled=True).exists()
