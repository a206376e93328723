"""Who is calling the OAuth resource API, what the token may do, and the API's error envelope.

Every resource view derives from ``OAuthApi``: a bearer access token (header only, RFC 6750 §2.1)
identifies the user and the application; the token's own budget of requests per second (seed:
2) is counted before anything else; then the view's ``required_scope`` must be in the token.

Errors are ``{"code", "msg"}``. Token problems use RFC 6750's codes with their statuses and a
``WWW-Authenticate: Bearer`` challenge (``invalid_token`` 401, ``insufficient_scope`` 403);
business errors use the domain catalog's codes (apps/core/errors.py); too many requests is
``RATE_LIMITED`` 429 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import AccountFrozen, BrokerError, RateLimited
from apps.core.throttles import rate_limit
from apps.oauth.scopes import SCOPE_DESCRIPTIONS
from apps.users.models import FreezeKind, User
from apps.users.selectors import user_is_frozen

# Calls without a usable token, per client IP (DESIGN.md §12: unauthenticated requests by IP).
UNAUTHENTICATED_RATE_PER_SECOND = 10


class TokenInvalid(BrokerError):
    code = "invalid_token"
    http_status = 401
    default_message = "The access token is missing, invalid, expired or revoked"


class ScopeInsufficient(BrokerError):
    code = "insufficient_scope"
    http_status = 403
    default_message = "The access token does not have the scope this endpoint needs"


class BearerTokenAuthentication(OAuth2Authentication):
    """DOT's bearer authentication; the broker's validator adds approval and active-user checks."""

    www_authenticate_realm = "oauth"


def _challenge(error: str, description: str, scope: str | None = None) -> str:
    parts = [f'realm="{BearerTokenAuthentication.www_authenticate_realm}"', f'error="{error}"']
    if description:
        parts.append('error_description="{}"'.format(description.replace('"', "'")))
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, TokenInvalid):
        headers["WWW-Authenticate"] = _challenge(exc.code, exc.message)
    elif isinstance(exc, ScopeInsufficient):
        headers["WWW-Authenticate"] = _challenge(exc.code, exc.message, exc.details.get("scope"))
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.details.get("retry_after", 1))
    if isinstance(exc, BrokerError):
        return Response({"code": exc.code, "msg": exc.message}, status=exc.http_status, headers=headers)
    if isinstance(exc, Http404):
        return Response({"code": "NOT_FOUND", "msg": "Not found"}, status=404)
    if isinstance(exc, exceptions.ValidationError):
        return Response({"code": "INVALID_PARAMETER", "msg": _flatten(exc.detail)}, status=400)
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes.upper() if isinstance(codes, str) else "ERROR"
        return Response({"code": code, "msg": str(exc.detail)}, status=exc.status_code)
    raise exc


def _flatten(detail: Any, prefix: str = "") -> str:
    if isinstance(detail, dict):
        return "; ".join(_flatten(value, f"{prefix}{key}: ") for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(value, prefix) for value in detail)
    return f"{prefix}{detail}"


def _client_ip(request: Request) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


# Base of every OAuth resource view: token, per-token rate limit, scope, then the operation. (A
# comment, not a docstring: drf-spectacular would show a docstring as every operation's description.)
class OAuthApi(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes: ClassVar[list[Any]] = []  # type: ignore[misc]
    throttle_classes: ClassVar[list[Any]] = []  # type: ignore[misc]
    required_scope: ClassVar[str]

    def get_exception_handler(self) -> Any:
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        token = request.auth
        if not isinstance(token, AccessToken):
            rate_limit(f"ip:{_client_ip(request)}:oauth-api", limit=UNAUTHENTICATED_RATE_PER_SECOND)
            error = getattr(request, "oauth2_error", None) or {}
            raise TokenInvalid(str(error.get("error_description") or TokenInvalid.default_message))
        rate_limit(f"oauth:{token.pk}", limit=int(settings.OAUTH_API_RATE_PER_SECOND))
        if not token.allow_scopes([self.required_scope]):
            raise ScopeInsufficient(
                _("This endpoint needs the %(scope)s scope") % {"scope": self.required_scope}, scope=self.required_scope
            )
        if user_is_frozen(user=self.oauth_user, kind=FreezeKind.LOGIN):
            raise AccountFrozen()

    @property
    def oauth_user(self) -> User:
        user = self.request.user
        if not isinstance(user, User):
            raise TokenInvalid()
        return user


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The OAuth API in the OpenAPI schema: authorization code flow, one scope per operation."""

    target_class = "apps.oauth.authentication.BearerTokenAuthentication"
    name = "oauth2"

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]]:
        scope = getattr(auto_schema.view, "required_scope", None)
        return {self.name: [scope] if scope else []}

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/api/v2/oauth2/authorize",
                    "tokenUrl": "/api/v2/oauth2/token",
                    "refreshUrl": "/api/v2/oauth2/refresh_token",
                    "scopes": {name: str(text) for name, text in SCOPE_DESCRIPTIONS.items()},
                }
            },
        }
