"""The BHEX shapes of our objects: one function per object, field names and types as the reference shows
them (amounts as strings, ids and millisecond times as numbers unless the reference quotes them).

Order statuses come from ``apps.trading.statuses`` (the one place they are mapped); what this module
adds is BHEX's spelling of enums (``BUY``, ``LIMIT``, ``GTC``) and its withdrawal status table.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.accounts.models import Deposit, Posting, TransactionKind, Withdrawal, WithdrawalStatus
from apps.core.money import ZERO, fmt, money_context
from apps.market.intervals import bucket_ms, bucket_start
from apps.market.models import Kline
from apps.tokens.models import Symbol, SymbolStatus
from apps.trading.models import OPEN_STATUSES, OrderSide, OrderType, Trade
from apps.trading.statuses import bhex_status

SYMBOL_STATUS = {SymbolStatus.ON: "TRADING", SymbolStatus.PAUSE: "HALT", SymbolStatus.OFF: "BREAK"}
# No maximum price is configured per symbol (price bands are relative to the last trade instead);
# PRICE_FILTER.maxPrice shows this ceiling.
MAX_PRICE = Decimal("100000000")


def ms(value: Any) -> int:
    return int(value.timestamp() * 1000) if value else 0


def _step(places: int) -> str:
    return fmt(Decimal(1).scaleb(-places))


# --- catalog -------------------------------------------------------------------------------------
def symbol_info(symbol: Symbol) -> dict[str, Any]:
    return {
        "symbol": symbol.pk,
        "status": SYMBOL_STATUS.get(SymbolStatus(symbol.status), "BREAK"),
        "baseAsset": symbol.base_id,
        "baseAssetPrecision": fmt(symbol.quantity_step),
        "quoteAsset": symbol.quote_id,
        "quotePrecision": _step(symbol.quote.precision),
        "icebergAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(symbol.price_tick),
                "maxPrice": fmt(MAX_PRICE),
                "tickSize": fmt(symbol.price_tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(symbol.min_quantity),
                "maxQty": fmt(symbol.max_quantity),
                "stepSize": fmt(symbol.quantity_step),
            },
            {"filterType": "MIN_NOTIONAL", "minNotional": fmt(symbol.min_notional)},
        ],
    }


def pair(symbol: Symbol) -> dict[str, str]:
    # The reference names them the other way round from brokerInfo: its example for LTCBTC has
    # "quoteToken": "LTC", "baseToken": "BTC". Clients written against it expect exactly that.
    return {"symbol": symbol.pk, "quoteToken": symbol.base_id, "baseToken": symbol.quote_id}


# --- market data ---------------------------------------------------------------------------------
def kline_row(kline: Kline) -> list[Any]:
    close_time = bucket_start(kline.interval, kline.open_time + bucket_ms(kline.interval)) - 1
    return [
        kline.open_time,
        fmt(kline.open),
        fmt(kline.high),
        fmt(kline.low),
        fmt(kline.close),
        fmt(kline.volume),
        close_time,
        fmt(kline.quote_volume),
        kline.trade_count,
        "0",  # taker buy base volume: not tracked
        "0",  # taker buy quote volume: not tracked
    ]


def public_trade(trade: Trade) -> dict[str, Any]:
    return {
        "price": fmt(trade.price),
        "qty": fmt(trade.quantity),
        "time": ms(trade.created_at),
        "isBuyerMaker": trade.buyer_is_maker,
    }


# --- orders --------------------------------------------------------------------------------------
def _upper(value: str) -> str:
    return value.upper() if value else ""


def order(payload: dict[str, Any]) -> dict[str, Any]:
    """A BHEX order from ``apps.trading.selectors.order_payload`` (also what ``order.update`` events carry)."""
    market_buy = payload["type"] == OrderType.MARKET and payload["side"] == OrderSide.BUY
    executed = Decimal(payload["executed_quantity"])
    with money_context():
        average = Decimal(payload["executed_quote"]) / executed if executed > 0 else ZERO
    return {
        "symbol": payload["symbol"],
        "orderId": int(payload["order_id"]),
        "clientOrderId": payload["client_order_id"],
        "price": payload["price"],
        # A market buy is placed by the quote amount to spend (DESIGN.md §11): that is its quantity.
        "origQty": payload["quote_amount"] if market_buy else payload["quantity"],
        "executedQty": payload["executed_quantity"],
        "cummulativeQuoteQty": payload["executed_quote"],
        "avgPrice": fmt(average),
        "status": bhex_status(payload["status"]),
        "timeInForce": _upper(payload["time_in_force"]),
        "type": _upper(payload["type"]),
        "side": _upper(payload["side"]),
        "stopPrice": "0",
        "icebergQty": "0",
        "time": payload["created_at"] or 0,
        "updateTime": payload["updated_at"] or 0,
        "isWorking": payload["status"] in OPEN_STATUSES,
    }


def my_trade(payload: dict[str, Any], *, match_order_id: int) -> dict[str, Any]:
    """One of the user's fills from ``apps.trading.selectors.trade_payload``."""
    return {
        "symbol": payload["symbol"],
        "id": int(payload["trade_id"]),
        "orderId": int(payload["order_id"]),
        "matchOrderId": match_order_id,
        "price": payload["price"],
        "qty": payload["quantity"],
        "commission": payload["fee"],
        "commissionAsset": payload["fee_token"],
        "time": payload["time"] or 0,
        "isBuyer": payload["side"] == OrderSide.BUY,
        "isMaker": payload["is_maker"],
        "feeTokenId": payload["fee_token"],
        "feeAmount": payload["fee"],
    }


# --- funding -------------------------------------------------------------------------------------
def deposit(row: Deposit) -> dict[str, Any]:
    return {
        "orderId": row.pk,
        "token": row.token_id,
        "address": row.address,
        "addressTag": row.memo,
        "fromAddress": "",  # the sending address is not reported by the custodian
        "fromAddressTag": "",
        "time": ms(row.created_at),
        "quantity": fmt(row.amount),
    }


# BHEX withdrawal status table (rest-api-cn.md "提币状态说明").
WITHDRAWAL_STATUS: dict[str, tuple[int, str]] = {
    WithdrawalStatus.SUBMITTED: (1, "BROKER_AUDITING_STATUS"),
    WithdrawalStatus.REVIEWING: (1, "BROKER_AUDITING_STATUS"),
    WithdrawalStatus.REJECTED: (2, "BROKER_REJECT_STATUS"),
    WithdrawalStatus.APPROVED: (5, "PROCESSING_STATUS"),
    WithdrawalStatus.BROADCAST: (8, "BLOCK_MINING_STATUS"),
    WithdrawalStatus.COMPLETED: (6, "WITHDRAWAL_SUCCESS_STATUS"),
    WithdrawalStatus.FAILED: (7, "WITHDRAWAL_FAILURE_STATUS"),
    WithdrawalStatus.CANCELED: (7, "WITHDRAWAL_FAILURE_STATUS"),
}


def withdrawal(row: Withdrawal) -> dict[str, Any]:
    status, status_code = WITHDRAWAL_STATUS[WithdrawalStatus(row.status)]
    return {
        "time": str(ms(row.created_at)),
        "orderId": str(row.pk),
        "accountId": str(row.account_id),
        "tokenId": row.token_id,
        "tokenName": row.token_id,
        "address": row.address,
        "addressExt": row.memo,
        "quantity": fmt(row.amount),
        "arriveQuantity": fmt(row.arrival_amount),
        "statusCode": status_code,
        "status": status,
        "txid": row.txid,
        "txidUrl": "",
        "walletHandleTime": str(ms(row.updated_at)),
        "feeTokenId": row.token_id,
        "feeTokenName": row.token_id,
        "fee": fmt(row.fee),
        "requiredConfirmNum": 0,
        "confirmNum": 0,
        "kernelId": "",
        "isInternalTransfer": False,
    }


# Balance flow types (reference "balance flow types"); our kinds without a BHEX type of their own
# are shown as TRANSFER with our kind's name in flowName.
FLOW_TYPES: dict[str, tuple[int, str, str]] = {
    TransactionKind.TRADE: (1, "TRADE", "Trade"),
    TransactionKind.ORDER_HOLD: (1, "TRADE", "Order hold"),
    TransactionKind.ORDER_RELEASE: (1, "TRADE", "Order release"),
    TransactionKind.DEPOSIT: (4, "DEPOSIT", "Deposit"),
    TransactionKind.MANUAL_CREDIT: (4, "DEPOSIT", "Manual deposit"),
    TransactionKind.TRANSFER: (51, "USER_ACCOUNT_TRANSFER", "Transfer"),
    TransactionKind.AIRDROP: (70, "AIRDROP", "Airdrop"),
    TransactionKind.WITHDRAWAL: (3, "TRANSFER", "Withdrawal"),
    TransactionKind.LOCK: (3, "TRANSFER", "Lock-up"),
    TransactionKind.UNLOCK: (3, "TRANSFER", "Unlock"),
    TransactionKind.CONVERT: (3, "TRANSFER", "Convert"),
    TransactionKind.ADJUSTMENT: (3, "TRANSFER", "Adjustment"),
}


def balance_flow(posting: Posting) -> dict[str, Any]:
    kind = posting.transaction.kind
    value, name, label = FLOW_TYPES.get(kind, (3, "TRANSFER", kind.replace("_", " ").capitalize()))
    return {
        "id": str(posting.pk),
        "accountId": str(posting.account_id),
        "tokenId": posting.token_id,
        "tokenName": posting.token_id,
        "flowTypeValue": value,
        "flowType": name,
        "flowName": label,
        "change": fmt(posting.amount),
        "total": fmt(posting.total_after),
        "created": str(ms(posting.created_at)),
    }
