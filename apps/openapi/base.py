"""The base view of the BHEX broker OpenAPI, and the OpenAPI-schema pieces its endpoints share.

Views are DRF ``APIView``s used only for routing and the schema: they authenticate themselves
(``apps.openapi.auth``) from the raw query string and body, never through DRF's parsers, and every
error goes through ``apps.openapi.errors``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.openapi import auth
from apps.openapi.errors import exception_handler
from apps.openapi.params import Params


class JsonOnly(BaseContentNegotiation):
    """Every answer is JSON whatever ``Accept`` says (BHEX SDKs send all sorts)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class OpenApiView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnly
    weight = 1  # public request weight (REQUESTS_WEIGHT per IP); signed endpoints are limited per key

    params: Params

    def get_exception_handler(self) -> Any:
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Read the raw bytes before anything could parse (and consume) the body.
        self.params = Params.of(request._request)

    def signed(self, request: Request, permission: str = "read") -> auth.Caller:
        return auth.authenticate(request._request, self.params, permission)

    def throttle(self, request: Request, weight: int | None = None) -> None:
        auth.public_throttle(request._request, self.weight if weight is None else weight)

    def organization_id(self, request: Request) -> int:
        return auth.public_organization_id(request._request, self.params)


# --- schema pieces -------------------------------------------------------------------------------
def _query(name: str, type_: Any = str, required: bool = False, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(name, type_, OpenApiParameter.QUERY, required=required, description=description)


SIGNED = [
    OpenApiParameter("X-BH-APIKEY", str, OpenApiParameter.HEADER, required=True, description="API key"),
    _query("timestamp", int, True, "Milliseconds since the epoch when the request was made"),
    _query("recvWindow", int, False, "Milliseconds after timestamp the request is valid for (default 5000)"),
    _query("signature", str, True, "Hex HMAC-SHA256 of the query string followed by the form body"),
]


def query(name: str, type_: Any = str, required: bool = False, description: str = "") -> OpenApiParameter:
    return _query(name, type_, required, description)


OBJECT: dict[str, Any] = {"type": "object"}
ARRAY: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "integer"}, "msg": {"type": "string"}},
    "required": ["code", "msg"],
}


def responses(ok: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {200: ok, 400: ERROR, 429: ERROR, 500: ERROR}


def one_or_many(item: dict[str, Any] | None = None) -> dict[str, Any]:
    schema = item or OBJECT
    return {"oneOf": [schema, {"type": "array", "items": schema}]}
