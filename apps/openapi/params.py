"""Request parameters as BHEX clients send them (reference ``rest-api.md`` "General API Information").

Parameters come in the query string, in an ``application/x-www-form-urlencoded`` body, or both;
when a name is in both, the query string wins. An empty value counts as absent (DESIGN.md §11). The
raw bytes are kept as received: the signature is verified over them, never over a re-encoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest

from apps.openapi.errors import OpenApiError, invalid, mandatory


def raw_query(request: HttpRequest) -> bytes:
    """The query string exactly as the client sent it."""
    if isinstance(request, ASGIRequest):
        return bytes(request.scope.get("query_string") or b"")
    # WSGI (and Django's test client) carry it as a latin-1 decoded str (PEP 3333): encode it back.
    return str(request.META.get("QUERY_STRING", "")).encode("iso-8859-1")


def raw_body(request: HttpRequest) -> bytes:
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/"):
        return b""
    return request.body


def _pairs(raw: bytes) -> list[tuple[str, str]]:
    if not raw:
        return []
    try:
        text = raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError as exc:
        raise OpenApiError(-1100, "Illegal characters found in a parameter.") from exc


class Params:
    """The merged parameters of one request: ``params.text("symbol")``, ``params.integer("limit")`` …"""

    def __init__(self, *, query: bytes, body: bytes) -> None:
        self.query = query
        self.body = body
        values: dict[str, str] = {}
        # Body first, then the query string over it: the query string wins. Within one source the
        # first non-empty value of a name counts.
        for source in (_pairs(body), _pairs(query)):
            seen: dict[str, str] = {}
            for name, value in source:
                if value != "" and name not in seen:
                    seen[name] = value
            values.update(seen)
        self.values = values

    @classmethod
    def of(cls, request: HttpRequest) -> Params:
        return cls(query=raw_query(request), body=raw_body(request))

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def text(self, name: str, *, required: bool = False, max_length: int = 256) -> str | None:
        value = self.values.get(name)
        value = value.strip() if value is not None else None
        if not value:  # absent, empty or blank: all count as absent
            if required:
                raise mandatory(name)
            return None
        if len(value) > max_length:
            raise invalid(name)
        return value

    def required(self, name: str, *, max_length: int = 256) -> str:
        value = self.text(name, required=True, max_length=max_length)
        assert value is not None
        return value

    def integer(self, name: str, *, required: bool = False, minimum: int | None = None) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise (mandatory(name) if required else invalid(name)) from None
        if minimum is not None and number < minimum:
            raise invalid(name)
        return number

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise (mandatory(name) if required else invalid(name)) from None
        if not number.is_finite():
            raise invalid(name)
        return number

    def limit(self, name: str = "limit", *, default: int, maximum: int) -> int:
        """A page size: absent → ``default``; above ``maximum`` → ``maximum``; below 1 → refused."""
        number = self.integer(name)
        if number is None:
            return default
        if number < 1:
            raise invalid(name, f"Must be between 1 and {maximum}.")
        return min(number, maximum)

    def choice(self, name: str, choices: Mapping[str, str], *, code: int, message: str) -> str | None:
        """An enum value (case-insensitive) mapped through ``choices``; unknown → ``code``."""
        value = self.text(name)
        if value is None:
            return None
        mapped = choices.get(value.upper())
        if mapped is None:
            raise OpenApiError(code, message)
        return mapped
