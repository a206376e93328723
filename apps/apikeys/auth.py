"""Authentication of signed API requests (DESIGN.md §12), shared by the programmatic surfaces.

Order of checks, each failing with its own ``ApiAuthError`` subclass so a surface can map it to the
code its spec documents, and nothing runs after a failure:

1. too many failed authentications from this IP → ``RateLimited`` (the IP is cooling off); only
   guesses count (an unknown key, a wrong signature), not a late timestamp, so an overloaded client
   behind a shared address does not lock out its neighbours;
2. the key: present, known, of the surface's kind, enabled, not expired, owner active, caller IP on
   the whitelist;
3. the timestamp window (BHEX ``recvWindow``, default 5 s, at most 60 s; BGE 30 s either side);
4. the signature (constant-time), over the bytes as received;
5. replay: a signature already seen within its window is refused;
6. the key's rate limit (10 requests/s).
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.utils import timezone

from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_secret
from apps.core import signing
from apps.core.errors import (
    ApiAuthError,
    ApiKeyDisabled,
    ApiKeyExpired,
    ApiKeyInvalid,
    ApiKeyMissing,
    ApiPermissionDenied,
    IpNotAllowed,
    RateLimited,
    SignatureInvalid,
    SignatureMissing,
    SignatureReplayed,
    TimestampMissing,
    TimestampOutOfWindow,
)
from apps.core.throttles import rate_limit, signature_first_use

KEY_RATE_PER_SECOND = 10
AUTH_FAILURES_PER_MINUTE = 30
BHEX_DEFAULT_RECV_WINDOW_MS = 5000
BHEX_MAX_RECV_WINDOW_MS = 60000
BHEX_FUTURE_TOLERANCE_MS = 1000
BGE_WINDOW_MS = 30000
LAST_USED_RESOLUTION_S = 60


def now_ms() -> int:
    return int(time.time() * 1000)


def _failure_key(ip: str) -> str:
    return f"authfail:{ip}:{int(time.time() // 60)}"


def _guard_failures(ip: str) -> None:
    if (cache.get(_failure_key(ip)) or 0) >= AUTH_FAILURES_PER_MINUTE:
        raise RateLimited("Too many failed authentications from this IP", retry_after=60 - int(time.time()) % 60)


def _count_failure(ip: str) -> None:
    key = _failure_key(ip)
    if not cache.add(key, 1, timeout=70):
        try:
            cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=70)


def ip_allowed(api_key: ApiKey, ip: str) -> bool:
    if not api_key.ip_whitelist:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in api_key.ip_whitelist:
        network = ipaddress.ip_network(entry, strict=False)
        if address.version == network.version and address in network:
            return True
    return False


def api_key_resolve(*, key: str | None, ip: str, kind: str) -> ApiKey:
    """Find an usable key of ``kind`` for a caller at ``ip``; every refusal is an ``ApiAuthError``."""
    if not key:
        raise ApiKeyMissing()
    api_key = (
        ApiKey.objects.select_related("user__organization", "organization").filter(key=key.strip(), kind=kind).first()
        if len(key.strip()) <= 64
        else None
    )
    if api_key is None:
        raise ApiKeyInvalid()
    if not api_key.enabled or (api_key.user is not None and not api_key.user.is_active):
        raise ApiKeyDisabled()
    if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
        raise ApiKeyExpired()
    if not ip_allowed(api_key, ip):
        raise IpNotAllowed()
    return api_key


def api_key_require(api_key: ApiKey, permission: str) -> None:
    if not api_key.has_permission(permission):
        raise ApiPermissionDenied()


def _int_param(value: str | None, error: type[ApiAuthError]) -> int:
    try:
        return int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError) as exc:
        raise error() from exc


def _accept(api_key: ApiKey, *, scope: str, signature: str, ttl_ms: int) -> ApiKey:
    if not signature_first_use(scope, signature, ttl_seconds=ttl_ms / 1000 + 1):
        raise SignatureReplayed()
    rate_limit(f"apikey:{api_key.pk}", limit=KEY_RATE_PER_SECOND)
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() >= LAST_USED_RESOLUTION_S:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def bhex_authenticate(
    *,
    key: str | None,
    ip: str,
    query: bytes,
    body: bytes,
    timestamp: str | None,
    recv_window: str | None,
    kind: str = "user",
) -> ApiKey:
    """A BHEX-signed request (OpenAPI, Org API): ``X-BH-APIKEY`` + hex HMAC over query + body."""
    _guard_failures(ip)
    try:
        api_key = api_key_resolve(key=key, ip=ip, kind=kind)
        if not timestamp:
            raise TimestampMissing()
        ts = _int_param(timestamp, TimestampOutOfWindow)
        window = BHEX_DEFAULT_RECV_WINDOW_MS if not recv_window else _int_param(recv_window, TimestampOutOfWindow)
        window = max(1, min(window, BHEX_MAX_RECV_WINDOW_MS))
        server = now_ms()
        if not (ts < server + BHEX_FUTURE_TOLERANCE_MS and server - ts <= window):
            raise TimestampOutOfWindow()
        _, query_signature = signing.split_signature(query)
        _, body_signature = signing.split_signature(body)
        signature = query_signature or body_signature
        if not signature:
            raise SignatureMissing()
        if not signing.bhex_verify(api_key_secret(api_key), query, body):
            raise SignatureInvalid()
        return _accept(api_key, scope=f"bhex:{api_key.pk}", signature=signature, ttl_ms=window + 1000)
    except (ApiKeyInvalid, SignatureInvalid):
        _count_failure(ip)
        raise


def bge_timestamp_ms(value: str) -> int:
    """BGE ``ACCESS-TIMESTAMP``: ISO 8601 (``2022-01-08T07:19:56.339Z``) or milliseconds."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TimestampOutOfWindow() from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def bge_authenticate(
    *,
    key: str | None,
    ip: str,
    signature: str | None,
    timestamp: str | None,
    method: str = "",
    path: str = "",
    query: str = "",
    body: str = "",
) -> ApiKey:
    """A BGE-signed request: ``ACCESS-KEY``/``ACCESS-SIGN``/``ACCESS-TIMESTAMP``, 30 s window."""
    _guard_failures(ip)
    try:
        api_key = api_key_resolve(key=key, ip=ip, kind="user")
        if not timestamp:
            raise TimestampMissing()
        if abs(now_ms() - bge_timestamp_ms(timestamp)) > BGE_WINDOW_MS:
            raise TimestampOutOfWindow()
        if not signature:
            raise SignatureMissing()
        ok = signing.bge_verify(
            api_key_secret(api_key), signature, timestamp=timestamp, method=method, path=path, query=query, body=body
        )
        if not ok:
            raise SignatureInvalid()
        digest = hashlib.sha256(f"{method}|{path}|{query}|{signature}".encode()).hexdigest()
        return _accept(api_key, scope=f"bge:{api_key.pk}", signature=digest, ttl_ms=2 * BGE_WINDOW_MS)
    except (ApiKeyInvalid, SignatureInvalid):
        _count_failure(ip)
        raise
