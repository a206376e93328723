"""Who is calling: signed requests (``X-BH-APIKEY`` + HMAC ``signature``), and the per-IP limits of
the public endpoints (DESIGN.md §11, §12).

Signed requests are checked by ``apps.apikeys.auth.bhex_authenticate`` over the raw query string and
raw body, then the endpoint's permission; every refusal raises before the endpoint does anything.

Public endpoints count request *weight* per client IP against the ``REQUESTS_WEIGHT`` limit that
``brokerInfo`` advertises; signed endpoints are limited per API key (``ORDERS``: 10 per second, in
``apps.apikeys.auth``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import HttpRequest

from apps.apikeys.auth import KEY_RATE_PER_SECOND, api_key_require, api_key_resolve, bhex_authenticate
from apps.apikeys.models import ApiKey
from apps.core.errors import ApiAuthError, RateLimited
from apps.core.throttles import rate_check
from apps.openapi.errors import OpenApiError
from apps.openapi.params import Params
from apps.users.models import User
from apps.users.selectors import organization_default, user_is_frozen

API_KEY_HEADER = "X-BH-APIKEY"
KEY_FORMAT = re.compile(r"^[A-Za-z0-9]{1,64}$")

# What brokerInfo advertises, and what is enforced.
PUBLIC_WEIGHT_PER_MINUTE = 1500
ORDERS_PER_SECOND = KEY_RATE_PER_SECOND


def rate_limits() -> list[dict[str, object]]:
    return [
        {"rateLimitType": "REQUESTS_WEIGHT", "interval": "MINUTE", "limit": PUBLIC_WEIGHT_PER_MINUTE},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "limit": ORDERS_PER_SECOND},
    ]


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "")


@dataclass(frozen=True)
class Caller:
    api_key: ApiKey
    user: User


def authenticate(request: HttpRequest, params: Params, permission: str) -> Caller:
    """A signed request by a user key holding ``permission``; raises the documented refusal otherwise."""
    key = request.headers.get(API_KEY_HEADER)
    if key and not KEY_FORMAT.match(key.strip()):
        raise OpenApiError(-2014, "API-key format invalid.")
    api_key = bhex_authenticate(
        key=key,
        ip=client_ip(request),
        query=params.query,
        body=params.body,
        timestamp=params.get("timestamp"),
        recv_window=params.get("recvWindow"),
        kind="user",
    )
    api_key_require(api_key, permission)
    assert api_key.user is not None  # user keys always have one (ApiKey's check constraint)
    return Caller(api_key=api_key, user=api_key.user)


def can_trade(caller: Caller) -> bool:
    return caller.api_key.has_permission("trade") and not user_is_frozen(user=caller.user, kind="trade")


def can_withdraw(caller: Caller) -> bool:
    return caller.api_key.has_permission("withdraw") and not user_is_frozen(user=caller.user, kind="withdraw")


def public_throttle(request: HttpRequest, weight: int = 1) -> None:
    """Count ``weight`` against the caller IP's per-minute budget; 429 (``-1003``) beyond it."""
    ip = client_ip(request)
    for _ in range(weight):
        verdict = rate_check(f"ip:{ip}:openapi-public", limit=PUBLIC_WEIGHT_PER_MINUTE, period=60)
        if not verdict.allowed:
            raise RateLimited(retry_after=verdict.retry_after)


def public_organization_id(request: HttpRequest, params: Params | None = None) -> int:
    """Whose catalog public data shows: the organization of a valid ``X-BH-APIKEY`` if one is sent,
    else ``org_id``, else the first organization (a single-broker deployment)."""
    key = request.headers.get(API_KEY_HEADER)
    if key:
        try:
            return api_key_resolve(key=key, ip=client_ip(request), kind="user").organization_id
        except ApiAuthError:
            pass  # public data does not need a key: an unusable one is ignored
    raw = params.get("org_id") if params is not None else None
    if raw:
        try:
            return int(raw)
        except ValueError:
            raise OpenApiError(-1130, "Data sent for parameter 'org_id' is not valid.") from None
    return default_organization_id()


def default_organization_id() -> int:
    organization = organization_default()
    return organization.pk if organization is not None else 0
