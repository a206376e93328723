"""The domain error catalog.

Every failure a client can cause is a ``BrokerError`` subclass with a stable string ``code`` (what
our own surfaces and logs use), the numeric business code of seed 003 where it defines one
(``biz_code``), and the HTTP status a REST surface should answer with. Each API surface maps these
to its own envelope in one handler; services never build HTTP responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class BrokerError(Exception):
    code: ClassVar[str] = "SYSTEM_ERROR"
    biz_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 400
    # Translated (gettext_lazy) into the language active where the error is raised: the request's.
    default_message: ClassVar[StrOrPromise] = _("System error")

    def __init__(self, message: StrOrPromise | None = None, **details: Any) -> None:
        self.message: str = str(message or self.default_message)
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.message}


class InvalidParameter(BrokerError):
    code = "INVALID_PARAMETER"
    biz_code = 2
    default_message = _("Invalid parameter")


class NotAuthenticated(BrokerError):
    code = "NOT_AUTHENTICATED"
    biz_code = 3
    http_status = 401
    default_message = _("Not logged in")


class PermissionDenied(BrokerError):
    code = "PERMISSION_DENIED"
    biz_code = 3
    http_status = 403
    default_message = _("Permission denied")


class NotFound(BrokerError):
    code = "NOT_FOUND"
    biz_code = 2
    http_status = 404
    default_message = _("Not found")


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"
    biz_code = 26
    default_message = _("User does not exist")


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"
    biz_code = 22
    default_message = _("Order does not exist")


class Conflict(BrokerError):
    code = "CONFLICT"
    biz_code = 2
    http_status = 409
    default_message = _("Conflicts with the current state")


class SecondFactorRequired(BrokerError):
    code = "SECOND_FACTOR_REQUIRED"
    biz_code = 21
    http_status = 403
    default_message = _("This operation needs your second factor (bind Google Authenticator first)")


class WrongSecondFactor(BrokerError):
    code = "WRONG_SECOND_FACTOR"
    biz_code = 21
    default_message = _("The Google Authenticator code is wrong or expired")


class FundPasswordRequired(BrokerError):
    code = "FUND_PASSWORD_REQUIRED"
    biz_code = 2
    http_status = 403
    default_message = _("Set a fund password first")


class WrongFundPassword(BrokerError):
    code = "WRONG_FUND_PASSWORD"
    biz_code = 2
    default_message = _("The fund password is wrong")


# --- ledger -------------------------------------------------------------------------------------
class LedgerError(BrokerError):
    code = "LEDGER_ERROR"
    default_message = _("Ledger error")


class InsufficientBalance(LedgerError):
    code = "INSUFFICIENT_BALANCE"
    biz_code = 19
    default_message = _("Insufficient balance")


class UnknownToken(LedgerError):
    code = "UNKNOWN_TOKEN"
    biz_code = 12
    default_message = _("Unknown token")


class InvalidAmount(LedgerError):
    code = "INVALID_AMOUNT"
    biz_code = 25
    default_message = _("Invalid amount")


class UnbalancedTransaction(LedgerError):
    code = "UNBALANCED_TRANSACTION"
    default_message = _("Postings of a transaction must sum to zero per token")


class UnknownAccount(LedgerError):
    code = "UNKNOWN_ACCOUNT"
    biz_code = 2
    default_message = _("Unknown account")


# --- trading ------------------------------------------------------------------------------------
class OrderRejected(BrokerError):
    code = "ORDER_REJECTED"
    biz_code = 5
    default_message = _("Order rejected")


class UnknownSymbol(OrderRejected):
    code = "UNKNOWN_SYMBOL"
    biz_code = 101999
    default_message = _("Unknown or unavailable symbol")


class SymbolNotTrading(OrderRejected):
    code = "SYMBOL_NOT_TRADING"
    biz_code = 101999
    default_message = _("Symbol is not trading")


class PrecisionTooHigh(OrderRejected):
    code = "PRECISION_TOO_HIGH"
    biz_code = 25
    default_message = _("Price or quantity precision exceeds the limit")


class QuantityTooSmall(OrderRejected):
    code = "QUANTITY_TOO_SMALL"
    biz_code = 6
    default_message = _("Quantity is below the minimum")


class QuantityTooLarge(OrderRejected):
    code = "QUANTITY_TOO_LARGE"
    biz_code = 7
    default_message = _("Quantity is above the maximum")


class NotionalTooSmall(OrderRejected):
    code = "NOTIONAL_TOO_SMALL"
    biz_code = 31
    default_message = _("Order value is below the minimum")


class PriceOutOfBand(OrderRejected):
    code = "PRICE_OUT_OF_BAND"
    biz_code = 32
    default_message = _("Price is outside the allowed band")


class TradingFrozen(BrokerError):
    code = "TRADING_FROZEN"
    biz_code = 9
    http_status = 403
    default_message = _("Trading is frozen")


class UserFrozen(BrokerError):
    code = "USER_FROZEN"
    biz_code = 100102
    http_status = 403
    default_message = _("User is frozen")


class CancelRejected(BrokerError):
    code = "CANCEL_REJECTED"
    biz_code = 8
    default_message = _("Order cannot be canceled")


class RateLimited(BrokerError):
    code = "RATE_LIMITED"
    biz_code = 34
    http_status = 429
    default_message = _("Too many requests")


# --- API keys and signed requests (apps/apikeys, the programmatic surfaces) --------------------
class ApiAuthError(BrokerError):
    """A signed request that is refused before anything runs; each surface maps these to its codes."""

    code = "API_AUTH_ERROR"
    biz_code = 3
    http_status = 401
    default_message = _("Authentication failed")


class ApiKeyMissing(ApiAuthError):
    code = "API_KEY_MISSING"
    default_message = _("API key is required")


class ApiKeyInvalid(ApiAuthError):
    code = "API_KEY_INVALID"
    default_message = _("Invalid API key")


class ApiKeyDisabled(ApiAuthError):
    code = "API_KEY_DISABLED"
    default_message = _("API key is disabled")


class ApiKeyExpired(ApiAuthError):
    code = "API_KEY_EXPIRED"
    default_message = _("API key has expired")


class IpNotAllowed(ApiAuthError):
    code = "IP_NOT_ALLOWED"
    http_status = 403
    default_message = _("Requests from this IP address are not allowed for this API key")


class SignatureMissing(ApiAuthError):
    code = "SIGNATURE_MISSING"
    default_message = _("Signature is required")


class SignatureInvalid(ApiAuthError):
    code = "SIGNATURE_INVALID"
    default_message = _("Signature for this request is not valid")


class TimestampMissing(ApiAuthError):
    code = "TIMESTAMP_MISSING"
    default_message = _("Timestamp is required")


class TimestampOutOfWindow(ApiAuthError):
    code = "TIMESTAMP_OUT_OF_WINDOW"
    default_message = _("Timestamp for this request is outside of the receive window")


class SignatureReplayed(ApiAuthError):
    code = "SIGNATURE_REPLAYED"
    default_message = _("This signed request was already received")


class ApiPermissionDenied(ApiAuthError):
    code = "API_PERMISSION_DENIED"
    http_status = 403
    default_message = _("This API key does not have permission for this operation")


class ApiKeyLimitReached(BrokerError):
    code = "API_KEY_LIMIT_REACHED"
    biz_code = 2
    default_message = _("At most 50 API keys per user")


# --- users, security, KYC (apps/users, apps/kyc) ------------------------------------------------
class WrongCredentials(BrokerError):
    code = "WRONG_CREDENTIALS"
    biz_code = 3
    http_status = 401
    default_message = _("Wrong account or password")


class LoginLocked(BrokerError):
    code = "LOGIN_LOCKED"
    biz_code = 3
    http_status = 429
    default_message = _("Too many failed logins; try again later")


class AccountFrozen(BrokerError):
    code = "ACCOUNT_FROZEN"
    biz_code = 3
    http_status = 403
    default_message = _("This account is frozen")


class CodeInvalid(BrokerError):
    code = "CODE_INVALID"
    biz_code = 2
    default_message = _("The verification code is wrong, expired or already used")


class CodeCooldown(BrokerError):
    code = "CODE_COOLDOWN"
    biz_code = 2
    http_status = 429
    default_message = _("A code was sent recently; wait before asking again")


class VerificationRequired(BrokerError):
    code = "VERIFICATION_REQUIRED"
    biz_code = 21
    http_status = 403
    default_message = _("This operation needs a verification code")


class KycLevelRequired(BrokerError):
    code = "KYC_LEVEL_REQUIRED"
    biz_code = 3
    http_status = 403
    default_message = _("A higher KYC level is required")


# --- funding (deposits, withdrawals, transfers, custody) ----------------------------------------
class UnknownChain(BrokerError):
    code = "UNKNOWN_CHAIN"
    biz_code = 12
    default_message = _("Unknown chain for this token")


class DepositDisabled(BrokerError):
    code = "DEPOSIT_DISABLED"
    biz_code = 12
    default_message = _("Deposits of this token are suspended")


class WithdrawDisabled(BrokerError):
    code = "WITHDRAW_DISABLED"
    biz_code = 12
    default_message = _("Withdrawals of this token are suspended")


class InvalidAddress(BrokerError):
    code = "INVALID_ADDRESS"
    biz_code = 2
    default_message = _("The address is not valid for this chain")


class AmountBelowMinimum(BrokerError):
    code = "AMOUNT_BELOW_MINIMUM"
    biz_code = 6
    default_message = _("The amount is below the minimum")


class WithdrawLimitExceeded(BrokerError):
    code = "WITHDRAW_LIMIT_EXCEEDED"
    biz_code = 7
    default_message = _("The amount exceeds your withdrawal limit")


class WithdrawFrozen(BrokerError):
    code = "WITHDRAW_FROZEN"
    biz_code = 100102
    http_status = 403
    default_message = _("Withdrawals are frozen for this account")


class WithdrawalNotFound(NotFound):
    code = "WITHDRAWAL_NOT_FOUND"
    default_message = _("Withdrawal does not exist")


class DepositNotFound(NotFound):
    code = "DEPOSIT_NOT_FOUND"
    default_message = _("Deposit does not exist")


class InvalidTransition(Conflict):
    code = "INVALID_TRANSITION"
    default_message = _("Not allowed in the current state")


class TransferNotAllowed(BrokerError):
    code = "TRANSFER_NOT_ALLOWED"
    biz_code = 3
    http_status = 403
    default_message = _("This transfer is not allowed")


class CustodyError(BrokerError):
    """The custodian could not be reached or answered with an error; the operation can be retried."""

    code = "CUSTODY_ERROR"
    http_status = 502
    default_message = _("The custodian is unavailable")


class CustodyRejected(BrokerError):
    """The custodian refused a request for good (e.g. a withdrawal it will not send)."""

    code = "CUSTODY_REJECTED"
    default_message = _("The custodian rejected the request")


class BadCallbackSignature(BrokerError):
    code = "BAD_SIGNATURE"
    http_status = 401
    default_message = _("Bad or missing callback signature")


class CallbackReplayed(BrokerError):
    code = "CALLBACK_REPLAYED"
    http_status = 409
    default_message = _("This callback was already received")


# --- finance (apps/finance: airdrops, lock-ups, convert, mapping, bonus, commission) -------------
class OperatingBalanceInsufficient(InsufficientBalance):
    code = "OPERATING_BALANCE_INSUFFICIENT"
    biz_code = 19
    default_message = _("The broker's operating account cannot cover this operation")


class PairNotOffered(BrokerError):
    code = "PAIR_NOT_OFFERED"
    biz_code = 12
    default_message = _("This conversion is not offered")


class PriceUnavailable(BrokerError):
    code = "PRICE_UNAVAILABLE"
    biz_code = 1
    http_status = 409
    default_message = _("No price is available for this conversion right now")


class QuoteExpired(BrokerError):
    code = "QUOTE_EXPIRED"
    biz_code = 2
    http_status = 409
    default_message = _("The quote has expired; ask for a new one")


class FinanceLimitExceeded(BrokerError):
    code = "FINANCE_LIMIT_EXCEEDED"
    biz_code = 7
    default_message = _("The amount exceeds the limit")


class LockupNotDue(Conflict):
    code = "LOCKUP_NOT_DUE"
    default_message = _("This lock-up cannot be released before its unlock date")
