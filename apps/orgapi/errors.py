"""The Org API's error envelope, and the one table that maps every refusal to its code (seed 001 §4.2).

Every error leaves as ``{"code": <int>, "msg": "…"}``: HTTP 400 for business and request errors,
HTTP 429 (with ``Retry-After``) for rate and polling limits, HTTP 500 ``110`` for anything unexpected
(seed 001's own example codes are ``110`` and ``1105``). Codes, by range:

* ``1001``–``1012`` — the signed request (key, IP, timestamp, signature, permission, rate);
* ``1101``–``1112`` — parameters, lookups, users and their state;
* ``1201``–``1211`` — orders;
* ``1301``–``1311`` — balances, deposits, withdrawals;
* ``1401``–``1406`` — finance operations.

Domain errors (``apps.core.errors``) and the refusals of ``apps.apikeys.auth`` are mapped by
``_TABLE``: the first class the error is an instance of wins, so subclasses come before their bases.
``msg=None`` keeps the domain's own, more specific message.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from apps.core import errors as e

logger = logging.getLogger(__name__)

INTERNAL_CODE = 110
INTERNAL_MSG = "Internal server error"


class OrgApiError(e.BrokerError):
    """A refusal whose code this surface decides (a time range too long, a reused client_order_id …)."""

    code = "ORGAPI_ERROR"

    def __init__(self, org_code: int, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.org_code = org_code


def time_range_too_long(hours: int = 12) -> OrgApiError:
    return OrgApiError(1102, f"The time range (start_time to end_time) may span at most {hours} hours")


def client_order_id_reused() -> OrgApiError:
    return OrgApiError(1103, "This client_order_id was already used for a different request")


# (error class, code, message or None for the error's own message)
_TABLE: list[tuple[type[e.BrokerError], int, str | None]] = [
    (e.ApiKeyMissing, 1001, "API key is required in the X-BH-APIKEY header"),
    (e.ApiKeyInvalid, 1002, "Invalid API key"),
    (e.ApiKeyDisabled, 1003, "API key is disabled"),
    (e.ApiKeyExpired, 1004, "API key has expired"),
    (e.IpNotAllowed, 1005, "Requests from this IP address are not allowed for this API key"),
    (e.TimestampMissing, 1006, "Parameter 'timestamp' is required"),
    (e.TimestampOutOfWindow, 1007, "Timestamp for this request is outside of the recvWindow"),
    (e.SignatureMissing, 1008, "Parameter 'signature' is required"),
    (e.SignatureInvalid, 1009, "Signature for this request is not valid"),
    (e.SignatureReplayed, 1010, "This signed request was already received"),
    (e.ApiPermissionDenied, 1011, "This API key is read-only or lacks the permission for this operation"),
    (e.ApiAuthError, 1000, None),
    (e.RateLimited, 1012, None),
    # requests, users
    (e.WrongCredentials, 1105, "Username or password is incorrect"),
    (e.LoginLocked, 1108, None),
    (e.SecondFactorRequired, 1109, None),
    (e.WrongSecondFactor, 1109, None),
    (e.AccountFrozen, 1110, None),
    (e.UserFrozen, 1110, None),
    (e.UserNotFound, 1106, "User does not exist"),
    (e.OrderNotFound, 1209, "Order does not exist"),
    (e.WithdrawalNotFound, 1104, None),
    (e.DepositNotFound, 1104, None),
    (e.NotFound, 1104, None),
    (e.KycLevelRequired, 1111, None),
    (e.InvalidTransition, 1107, None),
    (e.LockupNotDue, 1406, None),
    (e.Conflict, 1107, None),
    (e.PermissionDenied, 1112, None),
    (e.InvalidParameter, 1101, None),
    # orders
    (e.UnknownSymbol, 1201, None),
    (e.SymbolNotTrading, 1202, None),
    (e.PrecisionTooHigh, 1203, None),
    (e.QuantityTooSmall, 1204, None),
    (e.QuantityTooLarge, 1205, None),
    (e.NotionalTooSmall, 1206, None),
    (e.PriceOutOfBand, 1207, None),
    (e.OrderRejected, 1208, None),
    (e.CancelRejected, 1210, None),
    (e.TradingFrozen, 1211, None),
    # balances, funding
    (e.OperatingBalanceInsufficient, 1401, None),
    (e.InsufficientBalance, 1301, None),
    (e.UnknownToken, 1302, None),
    (e.InvalidAmount, 1303, None),
    (e.LedgerError, 1303, None),
    (e.UnknownChain, 1304, None),
    (e.DepositDisabled, 1305, None),
    (e.WithdrawDisabled, 1306, None),
    (e.InvalidAddress, 1307, None),
    (e.AmountBelowMinimum, 1308, None),
    (e.WithdrawLimitExceeded, 1309, None),
    (e.WithdrawFrozen, 1310, None),
    (e.CustodyError, 1311, None),
    (e.CustodyRejected, 1311, None),
    (e.TransferNotAllowed, 1112, None),
    # finance
    (e.PairNotOffered, 1402, None),
    (e.PriceUnavailable, 1403, None),
    (e.QuoteExpired, 1404, None),
    (e.FinanceLimitExceeded, 1405, None),
]
OTHER_BUSINESS_ERROR = 1100


def error_body(exc: e.BrokerError) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of a domain or surface error."""
    if isinstance(exc, OrgApiError):
        return 400, {"code": exc.org_code, "msg": exc.message}
    status = 429 if isinstance(exc, e.RateLimited) else 400
    for cls, code, message in _TABLE:
        if isinstance(exc, cls):
            return status, {"code": code, "msg": message or exc.message}
    return status, {"code": OTHER_BUSINESS_ERROR, "msg": exc.message}


def error_response(exc: e.BrokerError) -> Response:
    status, body = error_body(exc)
    headers = {}
    if status == 429:
        headers["Retry-After"] = str(exc.details.get("retry_after", 1))
    return Response(body, status=status, headers=headers)


def internal_error_body() -> dict[str, Any]:
    return {"code": INTERNAL_CODE, "msg": INTERNAL_MSG}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF exception handler of every Org API view."""
    if isinstance(exc, e.BrokerError):
        return error_response(exc)
    if isinstance(exc, Http404 | drf_exceptions.NotFound):
        return Response({"code": 1104, "msg": "Not found"}, status=400)
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return Response({"code": 1101, "msg": str(exc.detail)}, status=400)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response({"code": 1101, "msg": _flatten(exc.detail)}, status=400)
    if isinstance(exc, drf_exceptions.APIException) and exc.status_code < 500:
        return Response({"code": 1101, "msg": str(exc.detail)}, status=400)
    view = context.get("view")
    logger.exception("Org API %s failed", type(view).__name__ if view else "view", exc_info=exc)
    return Response(internal_error_body(), status=500)


def _flatten(detail: Any, prefix: str = "") -> str:
    if isinstance(detail, dict):
        return "; ".join(_flatten(v, f"{prefix}{k}: ") for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(v, prefix) for v in detail)
    return f"{prefix}{detail}"
