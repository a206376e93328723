"""The BHEX error envelope, and the one table that maps our errors to BHEX codes (DESIGN.md §11).

Every error leaves as ``{"code": <negative int>, "msg": …}`` (reference ``errors.md``) with HTTP 400,
except rate limits (HTTP 429, ``-1003``, a ``Retry-After`` header) and unexpected failures (HTTP 500,
``-1001``: the execution status is unknown, as the reference's general information says).

``OpenApiError`` carries a BHEX code chosen by this surface itself (a mandatory parameter missing,
a bad enum value …). Domain errors (``apps.core.errors``) and the signed-request refusals of
``apps.apikeys.auth`` are mapped by ``_TABLE``: the first class the error is an instance of wins, so
subclasses come before their bases. ``msg=None`` keeps the domain's own message, which is more
useful than BHEX's generic one for business refusals ("price must be a multiple of 0.01").
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from apps.core import errors as e

logger = logging.getLogger(__name__)

INTERNAL_MSG = "Internal error; unable to process your request. Please try again."


class OpenApiError(e.BrokerError):
    """An error whose BHEX code this surface decides (parameter checks, enum values …)."""

    code = "OPENAPI_ERROR"

    def __init__(self, bhex_code: int, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.bhex_code = bhex_code


def mandatory(name: str) -> OpenApiError:
    return OpenApiError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def invalid(name: str, detail: str = "") -> OpenApiError:
    return OpenApiError(-1130, f"Data sent for parameter '{name}' is not valid.{' ' + detail if detail else ''}")


UNAUTHORIZED = "You are not authorized to execute this request."
REJECTED_KEY = "Invalid API-key, IP, or permissions for action."
ACTION_DISABLED = "This action disabled is on this account."

# (error class, BHEX code, BHEX message or None for the error's own message)
_TABLE: list[tuple[type[e.BrokerError], int, str | None]] = [
    # signed-request refusals (apps.apikeys.auth)
    (e.ApiKeyMissing, -1002, UNAUTHORIZED + " Request need API Key included in the X-BH-APIKEY header."),
    (e.ApiKeyInvalid, -2015, REJECTED_KEY),
    (e.ApiKeyDisabled, -2015, REJECTED_KEY),
    (e.ApiKeyExpired, -2015, REJECTED_KEY),
    (e.IpNotAllowed, -2015, REJECTED_KEY),
    (e.ApiPermissionDenied, -2015, REJECTED_KEY),
    (e.TimestampMissing, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."),
    (e.TimestampOutOfWindow, -1021, "Timestamp for this request is outside of the recvWindow."),
    (e.SignatureMissing, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."),
    (e.SignatureInvalid, -1022, "Signature for this request is not valid."),
    (e.SignatureReplayed, -1022, "Signature for this request is not valid: this signed request was already received."),
    (e.ApiAuthError, -1002, UNAUTHORIZED),
    (e.RateLimited, -1003, "Too many requests; please use the websocket for live updates."),
    # orders
    (e.UnknownSymbol, -1121, "Invalid symbol."),
    (e.SymbolNotTrading, -2010, "Market is closed."),
    (e.PrecisionTooHigh, -1111, None),
    (e.QuantityTooSmall, -1136, None),
    (e.QuantityTooLarge, -1135, None),
    (e.NotionalTooSmall, -1140, None),
    (e.PriceOutOfBand, -1138, None),
    (e.OrderRejected, -2010, None),
    (e.OrderNotFound, -2013, "Order does not exist."),
    (e.CancelRejected, -2011, None),
    (e.InsufficientBalance, -2010, "Account has insufficient balance for requested action."),
    (e.TradingFrozen, -2010, ACTION_DISABLED),
    (e.UserFrozen, -2010, ACTION_DISABLED),
    (e.AccountFrozen, -2010, ACTION_DISABLED),
    (e.WithdrawFrozen, -2010, ACTION_DISABLED),
    (e.KycLevelRequired, -2010, None),
    # funding
    (e.WithdrawalNotFound, -2013, "Order does not exist."),
    (e.DepositNotFound, -2013, "Order does not exist."),
    (e.DepositDisabled, -1020, None),
    (e.WithdrawDisabled, -1020, None),
    (e.TransferNotAllowed, -1020, None),
    (e.FundPasswordRequired, -1020, None),
    (e.SecondFactorRequired, -1020, None),
    (e.CustodyError, -1006, None),
    (e.CustodyRejected, -1020, None),
    (e.UnknownChain, -1130, None),
    (e.InvalidAddress, -1130, None),
    (e.AmountBelowMinimum, -1130, None),
    (e.WithdrawLimitExceeded, -1130, None),
    # everything else a client can cause
    (e.NotFound, -1130, None),
    (e.PermissionDenied, -2010, None),
    (e.Conflict, -1020, None),
    (e.InvalidParameter, -1130, None),
    (e.LedgerError, -1130, None),
    (e.BrokerError, -1000, None),
]


def bhex_code(exc: e.BrokerError) -> tuple[int, str]:
    if isinstance(exc, OpenApiError):
        return exc.bhex_code, exc.message
    for cls, code, message in _TABLE:
        if isinstance(exc, cls):
            return code, message or exc.message
    return -1000, exc.message  # pragma: no cover - BrokerError is the last row


def error_response(exc: Exception) -> Response:
    """The BHEX body and status for any exception raised while serving a request."""
    if isinstance(exc, e.BrokerError):
        code, message = bhex_code(exc)
        if isinstance(exc, e.RateLimited):
            retry_after = int(exc.details.get("retry_after") or 1)
            return Response({"code": code, "msg": message}, status=429, headers={"Retry-After": str(retry_after)})
        status = 500 if isinstance(exc, e.CustodyError) else 400
        return Response({"code": code, "msg": message}, status=status)
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return Response({"code": -1020, "msg": "This operation is not supported."}, status=400)
    if isinstance(exc, drf_exceptions.APIException):
        return Response({"code": -1000, "msg": str(exc.detail)}, status=400)
    logger.exception("OpenAPI request failed", exc_info=exc)
    return Response({"code": -1001, "msg": INTERNAL_MSG}, status=500)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    return error_response(exc)
