"""The BGE API's request handling: signature check, JSON bodies, the error envelope, rate limits.

Private views (``permission`` set) authenticate in ``initial()`` — before any handler runs — with
``apps.apikeys.auth.bge_authenticate`` over the request exactly as received: the path, the raw query
string and the raw body. Public views count requests per client IP instead. Every failure goes
through ``apps.bgeapi.errors`` (the one mapping of domain errors to BGE codes).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.http import Http404
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.apikeys.auth import api_key_require, bge_authenticate, bge_timestamp_ms
from apps.apikeys.models import ApiKey
from apps.bgeapi import errors
from apps.core.errors import AccountFrozen, ApiAuthError, BrokerError, RateLimited, TimestampOutOfWindow
from apps.core.throttles import rate_limit
from apps.users.models import FreezeKind, User
from apps.users.selectors import user_is_frozen

logger = logging.getLogger(__name__)

PUBLIC_RATE_PER_SECOND = 20  # per client IP; override with settings.BGEAPI_PUBLIC_RATE_PER_SECOND


def client_ip(request: Request) -> str:
    return str(request.META.get("REMOTE_ADDR") or "")


def refuse_frozen(user: User) -> None:
    """A user whose login staff froze is refused with 40014 (用户已冻结), whatever key they sign with."""
    if user_is_frozen(user=user, kind=FreezeKind.LOGIN):
        raise AccountFrozen()


def timestamp_malformed(value: str) -> bool:
    try:
        bge_timestamp_ms(value)
    except (ApiAuthError, ValueError, OverflowError):
        return True
    return False


class BgeView(APIView):
    """Base of every BGE endpoint.

    Private views name the API-key permission each HTTP method needs in ``permissions``
    (``{"GET": "read", "POST": "trade"}``); a view without any is public.
    """

    authentication_classes: ClassVar[list[type]] = []  # type: ignore[misc]
    permission_classes: ClassVar[list[type]] = [AllowAny]  # type: ignore[misc]
    permissions: ClassVar[dict[str, str]] = {}
    error_context: ClassVar[str] = ""

    api_key: ApiKey
    user: User

    # --- authentication -----------------------------------------------------------------------
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not self.permissions:
            limit = getattr(settings, "BGEAPI_PUBLIC_RATE_PER_SECOND", PUBLIC_RATE_PER_SECOND)
            rate_limit(f"ip:{client_ip(request)}:bge-public", limit=limit)
            return
        raw = request._request.body  # read before DRF parses anything: the signed bytes
        timestamp = request.headers.get("ACCESS-TIMESTAMP")
        try:
            api_key = bge_authenticate(
                key=request.headers.get("ACCESS-KEY"),
                ip=client_ip(request),
                signature=request.headers.get("ACCESS-SIGN"),
                timestamp=timestamp,
                method=request.method or "",
                path=request.path,
                query=request.META.get("QUERY_STRING", ""),
                body=raw.decode("utf-8", "replace"),
            )
        except TimestampOutOfWindow as exc:
            exc.details["malformed"] = timestamp_malformed(timestamp or "")
            raise
        api_key_require(api_key, self.permissions.get(request.method or "GET", "read"))
        assert api_key.user is not None  # bge_authenticate accepts user keys only
        refuse_frozen(api_key.user)
        self.api_key = api_key
        self.user = api_key.user

    # --- input --------------------------------------------------------------------------------
    def body(self, request: Request) -> dict[str, Any]:
        """The JSON object body, numbers parsed as Decimal (money never passes through a float)."""
        raw = request._request.body
        if not raw.strip():
            return {}
        try:
            content = json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise errors.BgeError(1001, "the body is not valid JSON") from None
        if not isinstance(content, dict):
            raise errors.BgeError(1001, "the body must be a JSON object")
        return content

    @staticmethod
    def query_int(request: Request, name: str, *, default: int | None = None) -> int | None:
        value = request.query_params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise errors.BgeError(1001, f"{name} must be an integer") from None

    # --- errors -------------------------------------------------------------------------------
    def get_exception_handler(self) -> Any:
        return self.bge_exception

    def bge_exception(self, exc: Exception, context: dict[str, Any]) -> Response:
        if isinstance(exc, errors.BgeError):
            return Response({"code": exc.code, "message": exc.message}, status=exc.http_status)
        if isinstance(exc, BrokerError):
            status, body = errors.error_body(exc, self.error_context)
            headers = {}
            if isinstance(exc, RateLimited):
                headers["Retry-After"] = str(exc.details.get("retry_after", 1))
            return Response(body, status=status, headers=headers)
        if isinstance(exc, Http404):
            return Response({"code": 1087, "message": errors.MESSAGES[1087]}, status=400)
        if isinstance(exc, exceptions.APIException):
            return Response({"code": 1001, "message": f"{errors.MESSAGES[1001]}: {exc.detail}"}, status=400)
        logger.exception("BGE API request failed")
        return Response(errors.INTERNAL, status=500)
