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


# --- API keys and signed requests (apps/apikeys, the programmatic surfaces) --------------------
class ApiAuthError(BrokerError):
    """A signed request that is refused before anything runs; each surface maps these to its codes."""

    code = "API_AUTH_ERROR"
    biz_code = 3
    http_status = 401
    default_message = "Authentication failed"


class ApiKeyMissing(ApiAuthError):
    code = "API_KEY_MISSING"
    default_message = "API key is required"


class ApiKeyInvalid(ApiAuthError):
    code = "API_KEY_INVALID"
    default_message = "Invalid API key"


class ApiKeyDisabled(ApiAuthError):
    code = "API_KEY_DISABLED"
    default_message = "API key is disabled"


class ApiKeyExpired(ApiAuthError):
    code = "API_KEY_EXPIRED"
    default_message = "API key has expired"


class IpNotAllowed(ApiAuthError):
    code = "IP_NOT_ALLOWED"
    http_status = 403
    default_message = "Requests from this IP address are not allowed for this API key"


class SignatureMissing(ApiAuthError):
    code = "SIGNATURE_MISSING"
    default_message = "Signature is required"


class SignatureInvalid(ApiAuthError):
    code = "SIGNATURE_INVALID"
    default_message = "Signature for this request is not valid"


class TimestampMissing(ApiAuthError):
    code = "TIMESTAMP_MISSING"
    default_message = "Timestamp is required"


class TimestampOutOfWindow(ApiAuthError):
    code = "TIMESTAMP_OUT_OF_WINDOW"
    default_message = "Timestamp for this request is outside of the receive window"


class SignatureReplayed(ApiAuthError):
    code = "SIGNATURE_REPLAYED"
    default_message = "This signed request was already received"


class ApiPermissionDenied(ApiAuthError):
    code = "API_PERMISSION_DENIED"
    http_status = 403
    default_message = "This API key does not have permission for this operation"


class ApiKeyLimitReached(BrokerError):
    code = "API_KEY_LIMIT_REACHED"
    biz_code = 2
    default_message = "At most 50 API keys per user"


# --- users, security, KYC (apps/users, apps/kyc) ------------------------------------------------
class WrongCredentials(BrokerError):
    code = "WRONG_CREDENTIALS"
    biz_code = 3
    http_status = 401
    default_message = "Wrong account or password"


class LoginLocked(BrokerError):
    code = "LOGIN_LOCKED"
    biz_code = 3
    http_status = 429
    default_message = "Too many failed logins; try again later"


class AccountFrozen(BrokerError):
    code = "ACCOUNT_FROZEN"
    biz_code = 3
    http_status = 403
    default_message = "This account is frozen"


class CodeInvalid(BrokerError):
    code = "CODE_INVALID"
    biz_code = 2
    default_message = "The verification code is wrong, expired or already used"


class CodeCooldown(BrokerError):
    code = "CODE_COOLDOWN"
    biz_code = 2
    http_status = 429
    default_message = "A code was sent recently; wait before asking again"


class VerificationRequired(BrokerError):
    code = "VERIFICATION_REQUIRED"
    biz_code = 21
    http_status = 403
    default_message = "This operation needs a verification code"


class KycLevelRequired(BrokerError):
    code = "KYC_LEVEL_REQUIRED"
    biz_code = 3
    http_status = 403
    default_message = "A higher KYC level is required"


# --- funding (deposits, withdrawals, transfers, custody) ----------------------------------------
class UnknownChain(BrokerError):
    code = "UNKNOWN_CHAIN"
    biz_code = 12
    default_message = "Unknown chain for this token"


class DepositDisabled(BrokerError):
    code = "DEPOSIT_DISABLED"
    biz_code = 12
    default_message = "Deposits of this token are suspended"


class WithdrawDisabled(BrokerError):
    code = "WITHDRAW_DISABLED"
    biz_code = 12
    default_message = "Withdrawals of this token are suspended"


class InvalidAddress(BrokerError):
    code = "INVALID_ADDRESS"
    biz_code = 2
    default_message = "The address is not valid for this chain"


class AmountBelowMinimum(BrokerError):
    code = "AMOUNT_BELOW_MINIMUM"
    biz_code = 6
    default_message = "The amount is below the minimum"


class WithdrawLimitExceeded(BrokerError):
    code = "WITHDRAW_LIMIT_EXCEEDED"
    biz_code = 7
    default_message = "The amount exceeds your withdrawal limit"


class WithdrawFrozen(BrokerError):
    code = "WITHDRAW_FROZEN"
    biz_code = 100102
    http_status = 403
    default_message = "Withdrawals are frozen for this account"


class WithdrawalNotFound(NotFound):
    code = "WITHDRAWAL_NOT_FOUND"
    default_message = "Withdrawal does not exist"


class DepositNotFound(NotFound):
    code = "DEPOSIT_NOT_FOUND"
    default_message = "Deposit does not exist"


class InvalidTransition(Conflict):
    code = "INVALID_TRANSITION"
    default_message = "Not allowed in the current state"


class TransferNotAllowed(BrokerError):
    code = "TRANSFER_NOT_ALLOWED"
    biz_code = 3
    http_status = 403
    default_message = "This transfer is not allowed"


class CustodyError(BrokerError):
    """The custodian could not be reached or answered with an error; the operation can be retried."""

    code = "CUSTODY_ERROR"
    http_status = 502
    default_message = "The custodian is unavailable"


class CustodyRejected(BrokerError):
    """The custodian refused a request for good (e.g. a withdrawal it will not send)."""

    code = "CUSTODY_REJECTED"
    default_message = "The custodian rejected the request"


class BadCallbackSignature(BrokerError):
    code = "BAD_SIGNATURE"
    http_status = 401
    default_message = "Bad or missing callback signature"


class CallbackReplayed(BrokerError):
    code = "CALLBACK_REPLAYED"
    http_status = 409
    default_message = "This callback was already received"


# --- finance (apps/finance: airdrops, lock-ups, convert, mapping, bonus, commission) -------------
class OperatingBalanceInsufficient(InsufficientBalance):
    code = "OPERATING_BALANCE_INSUFFICIENT"
    biz_code = 19
    default_message = "The broker's operating account cannot cover this operation"


class PairNotOffered(BrokerError):
    code = "PAIR_NOT_OFFERED"
    biz_code = 12
    default_message = "This conversion is not offered"


class PriceUnavailable(BrokerError):
    code = "PRICE_UNAVAILABLE"
    biz_code = 1
    http_status = 409
    default_message = "No price is available for this conversion right now"


class QuoteExpired(BrokerError):
    code = "QUOTE_EXPIRED"
    biz_code = 2
    http_status = 409
    default_message = "The quote has expired; ask for a new one"


class FinanceLimitExceeded(BrokerError):
    code = "FINANCE_LIMIT_EXCEEDED"
    biz_code = 7
    default_message = "The amount exceeds the limit"


class LockupNotDue(Conflict):
    code = "LOCKUP_NOT_DUE"
    default_message = "This lock-up cannot be released before its unlock date"
