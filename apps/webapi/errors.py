"""The User API's error envelope: ``{"code", "msg"}`` with a 4xx status (DESIGN.md §11)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import BrokerError, NotFound


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, BrokerError):
        return Response({"code": exc.code, "msg": str(exc.message)}, status=exc.http_status)
    if isinstance(exc, Http404):
        return Response({"code": "NOT_FOUND", "msg": str(NotFound.default_message)}, status=404)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return Response({"code": "INVALID_PARAMETER", "msg": _flatten(exc.detail)}, status=400)
    if isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        code_text = code.upper() if isinstance(code, str) else "ERROR"
        return Response(
            {"code": code_text, "msg": str(exc.detail)}, status=response.status_code, headers=response.headers
        )
    return response


def _flatten(detail: Any, prefix: str = "") -> str:
    if isinstance(detail, dict):
        return "; ".join(_flatten(v, f"{prefix}{k}: ") for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(v, prefix) for v in detail)
    return f"{prefix}{detail}"
