"""The domain error catalog.

Every failure a client can cause is a ``BrokerError`` subclass with a stable string ``code`` (what
our own surfaces and logs use), the numeric business code of seed 003 where it defines one
(``biz_code``), and the HTTP status a REST surface should answer with. Each API surface maps these
to its own envelope in one handler; services never build HTTP responses.
"""

from __future__ import annotations

from typing import Any, ClassVar


class BrokerError(Exception):
    code: ClassVar[str] = "SYSTEM_ERROR"
    biz_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 400
    default_message: ClassVar[str] = "System error"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.message}


class InvalidParameter(BrokerError):
    code = "INVALID_PARAMETER"
    biz_code = 2
    default_message = "Invalid parameter"


class NotAuthenticated(BrokerError):
    code = "NOT_AUTHENTICATED"
    biz_code = 3
    http_status = 401
    default_message = "Not logged in"


class PermissionDenied(BrokerError):
    code = "PERMISSION_DENIED"
    biz_code = 3
    http_status = 403
    default_message = "Permission denied"


class NotFound(BrokerError):
    code = "NOT_FOUND"
    biz_code = 2
    http_status = 404
    default_message = "Not found"


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"
    biz_code = 26
    default_message = "User does not exist"


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"
    biz_code = 22
    default_message = "Order does not exist"


class Conflict(BrokerError):
    code = "CONFLICT"
    biz_code = 2
    http_status = 409
    default_message = "Conflicts with the current state"


class SecondFactorRequired(BrokerError):
    code = "SECOND_FACTOR_REQUIRED"
    biz_code = 21
    http_status = 403
    default_message = "This operation needs your second factor (bind Google Authenticator first)"


class WrongSecondFactor(BrokerError):
    code = "WRONG_SECOND_FACTOR"
    biz_code = 21
    default_message = "The Google Authenticator code is wrong or expired"


class FundPasswordRequired(BrokerError):
    code = "FUND_PASSWORD_REQUIRED"
    biz_code = 2
    http_status = 403
    default_message = "Set a fund password first"


class WrongFundPassword(BrokerError):
    code = "WRONG_FUND_PASSWORD"
    biz_code = 2
    default_message = "The fund password is wrong"


# --- ledger -------------------------------------------------------------------------------------
class LedgerError(BrokerError):
    code = "LEDGER_ERROR"
    default_message = "Ledger error"


class InsufficientBalance(LedgerError):
    code = "INSUFFICIENT_BALANCE"
    biz_code = 19
    default_message = "Insufficient balance"


class UnknownToken(LedgerError):
    code = "UNKNOWN_TOKEN"
    biz_code = 12
    default_message = "Unknown token"


class InvalidAmount(LedgerError):
    code = "INVALID_AMOUNT"
    biz_code = 25
    default_message = "Invalid amount"


class UnbalancedTransaction(LedgerError):
    code = "UNBALANCED_TRANSACTION"
    default_message = "Postings of a transaction must sum to zero per token"


class UnknownAccount(LedgerError):
    code = "UNKNOWN_ACCOUNT"
    biz_code = 2
    default_message = "Unknown account"


# --- trading ------------------------------------------------------------------------------------
class OrderRejected(BrokerError):
    code = "ORDER_REJECTED"
    biz_code = 5
    default_message = "Order rejected"


class UnknownSymbol(OrderRejected):
    code = "UNKNOWN_SYMBOL"
    biz_code = 101999
    default_message = "Unknown or unavailable symbol"


class SymbolNotTrading(OrderRejected):
    code = "SYMBOL_NOT_TRADING"
    biz_code = 101999
    default_message = "Symbol is not trading"


class PrecisionTooHigh(OrderRejected):
    code = "PRECISION_TOO_HIGH"
    biz_code = 25
    default_message = "Price or quantity precision exceeds the limit"


class QuantityTooSmall(OrderRejected):
    code = "QUANTITY_TOO_SMALL"
    biz_code = 6
    default_message = "Quantity is below the minimum"


class QuantityTooLarge(OrderRejected):
    code = "QUANTITY_TOO_LARGE"
    biz_code = 7
    default_message = "Quantity is above the maximum"


class NotionalTooSmall(OrderRejected):
    code = "NOTIONAL_TOO_SMALL"
    biz_code = 31
    default_message = "Order value is below the minimum"


class PriceOutOfBand(OrderRejected):
    code = "PRICE_OUT_OF_BAND"
    biz_code = 32
    default_message = "Price is outside the allowed band"


class TradingFrozen(BrokerError):
    code = "TRADING_FROZEN"
    biz_code = 9
    http_status = 403
    default_message = "Trading is frozen"


class UserFrozen(BrokerError):
    code = "USER_FROZEN"
    biz_code = 100102
    http_status = 403
    default_message = "User is frozen"


class CancelRejected(BrokerError):
    code = "CANCEL_REJECTED"
    biz_code = 8
    default_message = "Order cannot be canceled"


class RateLimited(BrokerError):
    code = "RATE_LIMITED"
    biz_code = 34
    http_status = 429
    default_message = "Too many requests"
