"""Request parameters of the Org API, and the bytes its signature covers.

Parameters come in the query string and in the body: a form body (``application/x-www-form-urlencoded``,
as the BHEX scheme signs it) or a JSON object (``application/json``, for nested data such as airdrop
rows; numbers are read as ``Decimal``, never through a float). When a name is in both, the query string
wins; an empty value counts as absent. The signature covers the raw query string (without
``signature``) followed by the raw body, exactly as received. A multipart upload signs only its query
string: its parameters must be sent there, and only its file parts are read from the body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from django.utils.translation import gettext as _

from apps.core.errors import InvalidParameter
from apps.orgapi.errors import time_range_too_long

AUTH_PARAMETERS = frozenset({"timestamp", "recvWindow", "recv_window", "signature"})
MAX_RANGE = timedelta(hours=12)


def raw_query(request: HttpRequest) -> bytes:
    """The query string exactly as the client sent it."""
    if isinstance(request, ASGIRequest):
        return bytes(request.scope.get("query_string") or b"")
    # WSGI (and Django's test client) carry it as a latin-1 decoded str (PEP 3333): encode it back.
    return str(request.META.get("QUERY_STRING", "")).encode("iso-8859-1")


def is_multipart(request: HttpRequest) -> bool:
    return str(request.META.get("CONTENT_TYPE", "")).startswith("multipart/")


def _pairs(raw: bytes) -> dict[str, str]:
    values: dict[str, str] = {}
    if not raw:
        return values
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameter(_("Parameters must be UTF-8 and URL-encoded")) from exc
    for name, value in pairs:
        if value != "" and name not in values:
            values[name] = value
    return values


class Params:
    """The merged parameters of one request and the raw bytes its signature covers."""

    def __init__(self, *, query: bytes, body: bytes, values: dict[str, Any]) -> None:
        self.query = query
        self.body = body
        self.values = values

    @classmethod
    def of(cls, request: HttpRequest) -> Params:
        query = raw_query(request)
        if is_multipart(request):
            return cls(query=query, body=b"", values=_pairs(query))
        body = request.body
        content_type = str(request.META.get("CONTENT_TYPE", ""))
        values: dict[str, Any] = {}
        if content_type.startswith("application/json") and body.strip():
            try:
                parsed = json.loads(body, parse_float=Decimal)
            except ValueError as exc:
                raise InvalidParameter(_("The body is not valid JSON")) from exc
            if not isinstance(parsed, dict):
                raise InvalidParameter(_("The JSON body must be an object"))
            values = {k: v for k, v in parsed.items() if v is not None and v != ""}
        elif body:
            values = _pairs(body)
        values.update(_pairs(query))
        return cls(query=query, body=body, values=values)

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else str(value)

    def business(self) -> dict[str, Any]:
        """The parameters without the signing ones (what a retry must repeat)."""
        return {k: v for k, v in self.values.items() if k not in AUTH_PARAMETERS}


def ms_to_datetime(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def time_window(
    start_ms: int | None, end_ms: int | None, *, limit: timedelta = MAX_RANGE
) -> tuple[int | None, int | None]:
    """A pull's time range (seed principle 5): at most ``limit`` (12 hours) long.

    Neither bound: no time filter (the list pages by id only). One bound: the other is that bound
    ± the limit. Both: they must be ordered and at most ``limit`` apart.
    """
    span = int(limit.total_seconds() * 1000)
    if start_ms is None and end_ms is None:
        return None, None
    if start_ms is None:
        assert end_ms is not None
        start_ms = end_ms - span
    elif end_ms is None:
        end_ms = start_ms + span
    if end_ms < start_ms:
        raise InvalidParameter(_("end_time is before start_time"))
    if end_ms - start_ms > span:
        raise time_range_too_long(int(limit.total_seconds() // 3600))
    return start_ms, end_ms
