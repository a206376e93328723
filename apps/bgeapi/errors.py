"""The BGE API's error codes (seed 004 "数据字典"): the one place domain errors become BGE codes.

REST errors are ``{"code", "message"}`` with HTTP 400 (business, codes 999–1100), 401 (signature
and key checks, codes 40001–40016) or 500 (``{"code": 500, "message": "Internal Server Error"}``);
rate limits answer 429 with code 1049 and ``Retry-After``. Websocket error frames are
``{"event", "code", "msg"}`` with the same codes (plus 400/401/500 of the websocket table).

The seed has no dedicated code for a replayed signature or a key without the needed permission:
a replay is ``40010`` (API 校验失败) and a missing permission ``40012`` (无效的API用户).
"""

from __future__ import annotations

from typing import Any

from apps.core.errors import (
    AccountFrozen,
    ApiAuthError,
    ApiKeyDisabled,
    ApiKeyExpired,
    ApiKeyInvalid,
    ApiKeyMissing,
    ApiPermissionDenied,
    BrokerError,
    CancelRejected,
    InsufficientBalance,
    InvalidAmount,
    InvalidParameter,
    IpNotAllowed,
    KycLevelRequired,
    NotAuthenticated,
    NotFound,
    NotionalTooSmall,
    OrderNotFound,
    OrderRejected,
    PermissionDenied,
    PrecisionTooHigh,
    PriceOutOfBand,
    QuantityTooLarge,
    QuantityTooSmall,
    RateLimited,
    SignatureInvalid,
    SignatureMissing,
    SignatureReplayed,
    SymbolNotTrading,
    TimestampMissing,
    TimestampOutOfWindow,
    TradingFrozen,
    TransferNotAllowed,
    UnknownAccount,
    UnknownSymbol,
    UnknownToken,
    UserFrozen,
    WithdrawFrozen,
)

MESSAGES: dict[int, str] = {
    # authentication (用户认证错误码对照表)
    40001: "ACCESS_KEY不能为空",
    40002: "ACCESS_SIGN不能为空",
    40003: "ACCESS_TIMESTAMP不能为空",
    40005: "无效的ACCESS_TIMESTAMP",
    40006: "无效的ACCESS_KEY",
    40008: "请求时间戳过期",
    40010: "API 校验失败",
    40012: "无效的API用户",
    40013: "用户已禁止",
    40014: "用户已冻结",
    40015: "无效的IP请求",
    40016: "API_KEY已过期",
    # business (业务错误码对照表)
    999: "查询的数据为空",
    1000: "没有登录",
    1001: "参数错误",
    1006: "币种信息不存在",
    1008: "K线不存在",
    1009: "行情不存在",
    1029: "转出金额大于可转金额",
    1049: "用户请求接口过于频繁",
    1050: "币对不存在",
    1051: "档位深度不存在",
    1053: "下单已阻断",
    1054: "小于最小下单数量",
    1055: "金额小于余额",
    1056: "大于最大下单数量",
    1057: "市价单金额无效",
    1058: "下单失败",
    1059: "订单不存在",
    1060: "撤单失败",
    1061: "订单已撤销",
    1062: "订单已成交",
    1063: "撤单失败",
    1064: "KYC验证失败",
    1065: "您已被冻结,无法下单",
    1066: "交易密码失效",
    1067: "價格,Price ≥ ${amount limit value}",
    1068: "價格,Price ≤ ${amount limit value}",
    1069: "交易额精度不正确",
    1070: "数量精度不正确",
    1071: "价格精度不正确",
    1072: "下单数量不能小于等于0",
    1073: "下单价格不能小于等于0",
    1074: "账户余额不足",
    1075: "數量,Amount ≥ ${amount limit value}",
    1076: "數量,Amount ≤ ${amount limit value}",
    1077: "金額,Total ≥ ${amount limit value}",
    1078: "數量,Amount ≥ ${amount limit value}",
    1079: "金額,Total ≤ ${amount limit value}",
    1080: "數量,Amount ≤ ${amount limit value}",
    1081: "市价单买单触及最高成交限定价格,已自动撤单",
    1082: "市价单卖单触及最低成交限定价格,已自动撤单",
    1083: "用户数据获取失败",
    1084: "无当前委托订单",
    1085: "超过最大委托数",
    1087: "查找不到数据",
    1088: "无法验证用户身份",
    1089: "order_id或者product有一个不能为空",
    1090: "client_oid已经存在",
    1091: "client_oid不符合规则",
    1093: "资金账户余额不足",
    1094: "划转失败",
    1095: "超过最大数量",
    1096: "账户不存在",
    1097: "系统超时",
    1098: "系统繁忙",
    1099: "币种不存在",
    1100: "可用余额不足",
}

INTERNAL = {"code": 500, "message": "Internal Server Error"}

# What an operation was doing when it failed: the same domain error can mean different BGE codes.
ORDER = "order"
TRANSFER_IN = "transfer_in"  # funding → trading (/v1/deposits/account)
TRANSFER_OUT = "transfer_out"  # trading → funding (/v1/withdrawals/account)
CURRENCY = "currency"


class BgeError(Exception):
    """A refusal that only this surface knows (its own parameter rules), with its BGE code."""

    def __init__(self, code: int, detail: str = "", *, http_status: int = 400) -> None:
        self.code = code
        self.http_status = http_status
        self.message = f"{MESSAGES[code]}: {detail}" if detail else MESSAGES[code]
        super().__init__(self.message)


def _auth_code(exc: ApiAuthError) -> int:
    if isinstance(exc, ApiKeyMissing):
        return 40001
    if isinstance(exc, SignatureMissing):
        return 40002
    if isinstance(exc, TimestampMissing):
        return 40003
    if isinstance(exc, TimestampOutOfWindow):
        return 40005 if exc.details.get("malformed") else 40008
    if isinstance(exc, ApiKeyInvalid):
        return 40006
    if isinstance(exc, SignatureInvalid | SignatureReplayed):
        return 40010
    if isinstance(exc, ApiPermissionDenied):
        return 40012
    if isinstance(exc, ApiKeyDisabled):
        return 40013
    if isinstance(exc, IpNotAllowed):
        return 40015
    if isinstance(exc, ApiKeyExpired):
        return 40016
    return 40010


def code_for(exc: BrokerError, context: str = "") -> int:
    """The BGE code of a domain error raised while doing ``context``."""
    if isinstance(exc, ApiAuthError):
        return _auth_code(exc)
    if isinstance(exc, RateLimited):
        return 1049
    if isinstance(exc, AccountFrozen):
        return 40014
    if isinstance(exc, NotAuthenticated):
        return 1000
    if isinstance(exc, UnknownSymbol):
        return 1050
    if isinstance(exc, SymbolNotTrading):
        return 1053
    if isinstance(exc, QuantityTooSmall):
        return 1054
    if isinstance(exc, QuantityTooLarge):
        return 1056
    if isinstance(exc, NotionalTooSmall):
        return 1077
    if isinstance(exc, PriceOutOfBand):
        return 1068 if exc.details.get("bound") == "max" else 1067
    if isinstance(exc, PrecisionTooHigh):
        return {"price": 1071, "quantity": 1070}.get(exc.details.get("field", ""), 1069)
    if isinstance(exc, OrderRejected):
        return 1058
    if isinstance(exc, TradingFrozen | UserFrozen):
        return 1065
    if isinstance(exc, KycLevelRequired):
        return 1064
    if isinstance(exc, PermissionDenied):
        # order_validate refuses a user below the organization's trading KYC level this way
        return 1064 if "KYC" in exc.message else 1088
    if isinstance(exc, InsufficientBalance):
        return {TRANSFER_IN: 1093, TRANSFER_OUT: 1029}.get(context, 1100)
    if isinstance(exc, OrderNotFound):
        return 1059
    if isinstance(exc, CancelRejected):
        return 1060
    if isinstance(exc, UnknownToken):
        return 1006 if context == CURRENCY else 1099
    if isinstance(exc, TransferNotAllowed | WithdrawFrozen):
        return 1094
    if isinstance(exc, UnknownAccount):
        return 1096
    if isinstance(exc, InvalidParameter):
        if exc.details.get("rule") == "positive":
            return {"price": 1073, "quantity": 1072, "quote_amount": 1057}.get(exc.details.get("field", ""), 1001)
        return 1001
    if isinstance(exc, InvalidAmount):
        return 1001
    if isinstance(exc, NotFound):
        return 1087
    return 1058 if context == ORDER else 1001


def http_status_for(exc: BrokerError) -> int:
    if isinstance(exc, RateLimited):
        return 429
    if isinstance(exc, ApiAuthError | AccountFrozen):
        return 401
    return 400


def error_body(exc: BrokerError, context: str = "") -> tuple[int, dict[str, Any]]:
    """``(http_status, {"code", "message"})`` for a domain error.

    Authentication failures carry the seed's exact text; business errors add the domain's detail
    after the seed's text when there is one (``"参数错误: price must be greater than zero"``).
    """
    code = code_for(exc, context)
    text = MESSAGES.get(code, exc.default_message)
    if not isinstance(exc, ApiAuthError | AccountFrozen | RateLimited) and exc.message != exc.default_message:
        text = f"{text}: {exc.message}"
    return http_status_for(exc), {"code": code, "message": text}
