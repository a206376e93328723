"""The Org API's objects (seed 001 "common objects" 2.1–2.8), rendered in one place.

Names are snake_case as the seed shows them; ``uid`` is a string (16 digits do not fit a JavaScript
number), other ids are numbers, amounts are strings, and every timestamp is in milliseconds (the seed's
examples show seconds; every surface of this broker uses milliseconds, so ``updated_at`` has 13
digits). Order statuses are mapped once, through ``apps.trading.statuses`` (a pending order is ``NEW``).

The broker runs its own spot market, so a token's or symbol's ``exchange_id`` is the organization's
own id. A trade names the counterparty's order (``match_order_id``) only when that order belongs to
the same organization (seed 001 §5): otherwise it is ``null``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.accounts.funding import deposit_payload, withdrawal_payload
from apps.accounts.models import Account, Balance, Deposit, Posting, Withdrawal
from apps.apikeys.models import ApiKey
from apps.core.money import fmt
from apps.events.models import Webhook
from apps.finance.models import Airdrop, ConvertQuote, Lockup, MappingRecord
from apps.tokens.models import Symbol, SymbolStatus, Token
from apps.trading.models import Order, OrderSide, Trade
from apps.trading.statuses import bhex_status
from apps.users.models import LoginRecord, Organization, User, UserFreeze


def ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def _step(places: int) -> str:
    return fmt(Decimal(1).scaleb(-places))


def org_object(organization: Organization) -> dict[str, Any]:
    return {
        "org_id": organization.pk,
        "org_name": organization.name,
        "org_type": "BROKER",
        "updated_at": ms(organization.created_at),
    }


def org_settings(organization: Organization) -> dict[str, Any]:
    return {
        "withdraw_auto_approve_threshold": fmt(organization.withdraw_auto_approve_threshold),
        "withdraw_dual_approval_threshold": fmt(organization.withdraw_dual_approval_threshold),
        "trading_kyc_level": organization.trading_kyc_level,
        "allow_internal_transfer": organization.allow_internal_transfer,
    }


def token_object(
    token: Token, organization: Organization, *, full: bool, updated_at: datetime | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"org_id": organization.pk}
    if full:
        body.update({"org_name": organization.name, "exchange_id": organization.pk, "exchange_name": organization.name})
    body.update(
        {
            "token_id": token.pk,
            "token_name": token.name,
            "token_full_name": token.full_name or token.name,
        }
    )
    if full:
        body.update({"icon_url": token.icon_url, "precision": token.precision, "is_fiat": token.is_fiat})
    body.update(
        {
            "allow_withdraw": token.withdraw_enabled,
            "allow_deposit": token.deposit_enabled,
            "min_deposit_quantity": fmt(token.min_deposit),
            "updated_at": ms(updated_at or token.created_at),
        }
    )
    return body


def symbol_object(
    symbol: Symbol, organization: Organization, *, full: bool, updated_at: datetime | None
) -> dict[str, Any]:
    can_trade = symbol.status == SymbolStatus.ON
    body: dict[str, Any] = {"org_id": organization.pk}
    if full:
        body.update({"org_name": organization.name, "exchange_id": organization.pk, "exchange_name": organization.name})
    body.update(
        {
            "symbol_id": symbol.pk,
            "symbol_name": symbol.pk,
            "base_token_id": symbol.base_id,
            "base_token_name": symbol.base.name,
            "quote_token_id": symbol.quote_id,
            "quote_token_name": symbol.quote.name,
        }
    )
    if full:
        body.update(
            {
                "base_precision": fmt(symbol.quantity_step),
                "quote_precision": _step(symbol.quote.precision),
                "min_trade_quantity": fmt(symbol.min_quantity),
                "max_trade_quantity": fmt(symbol.max_quantity),
                "min_trade_amount": fmt(symbol.min_notional),
                "min_price_precision": fmt(symbol.price_tick),
                "digit_merge": symbol.merge_levels,
                "maker_fee_rate": fmt(symbol.maker_fee_rate),
                "taker_fee_rate": fmt(symbol.taker_fee_rate),
                "status": symbol.status,
            }
        )
    body.update(
        {
            "can_trade": can_trade,
            "can_buy": can_trade and symbol.buy_enabled,
            "can_sell": can_trade and symbol.sell_enabled,
            "updated_at": ms(updated_at or symbol.created_at),
        }
    )
    return body


def user_object(user: User, accounts: dict[str, int] | None = None) -> dict[str, Any]:
    accounts = accounts or {}
    return {
        "uid": str(user.uid),
        "email": user.email,
        "phone": user.phone,
        "kyc_level": user.kyc_level,
        "main_account_id": accounts.get("spot", 0),
        "funding_account_id": accounts.get("funding", 0),
        "option_account_id": 0,
        "future_account_id": 0,
        "margin_account_id": 0,
        "language": user.language,
        "invite_code": user.invite_code or "",
        "is_active": user.is_active,
        "created_at": ms(user.date_joined),
        "updated_at": ms(max(d for d in (user.date_joined, user.last_login, user.closed_at) if d is not None)),
    }


def inviter_object(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"uid": str(user.uid), "email": user.email, "phone": user.phone}


def account_object(account: Account) -> dict[str, Any]:
    return {"account_id": account.pk, "account_type": account.type, "account_index": account.index}


def balance_object(balance: Balance) -> dict[str, Any]:
    return {
        "balance_id": str(balance.pk),
        "account_id": balance.account_id,
        "token_id": balance.token_id,
        "total": fmt(balance.available + balance.hold + balance.lockup),
        "available": fmt(balance.available),
        "locked": fmt(balance.hold),
        "lockup": fmt(balance.lockup),
        "updated_at": ms(balance.updated_at),
    }


def flow_object(posting: Posting) -> dict[str, Any]:
    return {
        "flow_id": posting.pk,
        "account_id": posting.account_id,
        "token_id": posting.token_id,
        "bucket": posting.bucket,
        "change": fmt(posting.amount),
        "total": fmt(posting.total_after),
        "flow_type": posting.transaction.kind,
        "transaction_id": posting.transaction_id,
        "created_at": ms(posting.created_at),
    }


def _renamed(payload: dict[str, Any], ids: tuple[str, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in payload.items():
        name = "token_id" if key == "token" else key
        body[name] = int(value) if name in ids and isinstance(value, str) and value.isdigit() else value
    return body


def deposit_object(deposit: Deposit) -> dict[str, Any]:
    return _renamed(deposit_payload(deposit), ("deposit_id",))


def withdrawal_object(withdrawal: Withdrawal) -> dict[str, Any]:
    return _renamed(withdrawal_payload(withdrawal), ("withdrawal_id", "bank_card_id"))


def order_object(order: Order, *, uid: int | None = None) -> dict[str, Any]:
    return {
        "order_id": order.pk,
        "client_order_id": order.client_order_id,
        "uid": str(order.user.uid if uid is None else uid),
        "account_id": order.account_id,
        "symbol_id": order.symbol_id,
        "side": order.side.upper(),
        "type": order.type.upper(),
        "time_in_force": order.time_in_force.upper(),
        "price": fmt(order.price) if order.price is not None else "0",
        "quantity": fmt(order.quantity) if order.quantity is not None else "0",
        "amount": fmt(order.quote_amount) if order.quote_amount is not None else "0",
        "executed_quantity": fmt(order.executed_quantity),
        "executed_amount": fmt(order.executed_quote),
        "fee": fmt(order.fee),
        "fee_token_id": order.symbol.base_id if order.side == OrderSide.BUY else order.symbol.quote_id,
        "status": bhex_status(order.status),
        "reason": order.reason,
        "created_at": ms(order.created_at),
        "updated_at": ms(order.updated_at),
    }


def trade_object(trade: Trade, *, user: User, organization_id: int) -> dict[str, Any]:
    """``user``'s side of a fill; the other side's order only when it is of the same organization."""
    is_buyer = trade.buyer_id == user.pk
    own, other = (trade.buy_order, trade.sell_order) if is_buyer else (trade.sell_order, trade.buy_order)
    return {
        "trade_id": trade.pk,
        "order_id": own.pk,
        "client_order_id": own.client_order_id,
        "match_order_id": other.pk if other.organization_id == organization_id else None,
        "uid": str(user.uid),
        "symbol_id": trade.symbol_id,
        "side": "BUY" if is_buyer else "SELL",
        "price": fmt(trade.price),
        "quantity": fmt(trade.quantity),
        "amount": fmt(trade.quote_quantity),
        "fee": fmt(trade.buyer_fee if is_buyer else trade.seller_fee),
        "fee_token_id": trade.symbol.base_id if is_buyer else trade.symbol.quote_id,
        "is_maker": trade.buyer_is_maker if is_buyer else not trade.buyer_is_maker,
        "created_at": ms(trade.created_at),
        "updated_at": ms(trade.created_at),
    }


def login_object(record: LoginRecord) -> dict[str, Any]:
    return {
        "login_id": record.pk,
        "ip": record.ip or "",
        "user_agent": record.user_agent,
        "result": record.result,
        "created_at": ms(record.created_at),
    }


def freeze_object(freeze: UserFreeze) -> dict[str, Any]:
    return {
        "freeze_id": freeze.pk,
        "uid": str(freeze.user.uid),
        "freeze_type": freeze.kind,
        "symbol_id": freeze.symbol_id or "",
        "token_id": freeze.token_id or "",
        "reason": freeze.reason,
        "frozen": freeze.is_active,
        "created_at": ms(freeze.created_at),
    }


def lockup_object(lockup: Lockup) -> dict[str, Any]:
    return {
        "lockup_id": lockup.pk,
        "client_order_id": lockup.client_order_id,
        "uid": str(lockup.user.uid),
        "token_id": lockup.token_id,
        "amount": fmt(lockup.amount),
        "status": lockup.status,
        "unlock_at": ms(lockup.unlock_at),
        "created_at": ms(lockup.created_at),
        "released_at": ms(lockup.released_at),
    }


def airdrop_object(airdrop: Airdrop) -> dict[str, Any]:
    return {
        "airdrop_id": airdrop.pk,
        "client_order_id": airdrop.batch_id,
        "token_id": airdrop.token_id,
        "bucket": airdrop.bucket,
        "status": airdrop.status,
        "reason": airdrop.reason,
        "total_rows": airdrop.total_rows,
        "processed_rows": airdrop.processed_rows,
        "succeeded_rows": airdrop.succeeded_rows,
        "failed_rows": airdrop.failed_rows,
        "amount": fmt(airdrop.valid_amount),
        "created_at": ms(airdrop.created_at),
        "finished_at": ms(airdrop.finished_at),
    }


def convert_object(quote: ConvertQuote, user: User) -> dict[str, Any]:
    return {
        "convert_id": quote.pk,
        "uid": str(user.uid),
        "from_token_id": quote.pair.from_token_id,
        "to_token_id": quote.pair.to_token_id,
        "from_amount": fmt(quote.from_amount),
        "to_amount": fmt(quote.to_amount),
        "rate": fmt(quote.rate),
        "status": quote.status,
        "created_at": ms(quote.executed_at),
    }


def mapping_object(record: MappingRecord, user: User) -> dict[str, Any]:
    return {
        "mapping_id": record.pk,
        "client_order_id": record.client_order_id,
        "uid": str(user.uid),
        "from_token_id": record.pair.from_token_id,
        "to_token_id": record.pair.to_token_id,
        "from_amount": fmt(record.from_amount),
        "to_amount": fmt(record.to_amount),
        "rate": fmt(record.rate),
        "created_at": ms(record.created_at),
    }


def api_key_object(api_key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uid": str(api_key.user.uid) if api_key.user else "",
        "api_key": api_key.key,
        "label": api_key.label,
        "permissions": list(api_key.permissions),
        "ip_whitelist": list(api_key.ip_whitelist),
        "expires_at": ms(api_key.expires_at),
        "created_at": ms(api_key.created_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


def webhook_object(webhook: Webhook, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "webhook_id": webhook.pk,
        "url": webhook.url,
        "event_types": list(webhook.event_types),
        "enabled": webhook.enabled,
        "description": webhook.description,
        "created_at": ms(webhook.created_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


# --- schema components (drf-spectacular) ---------------------------------------------------------------
@extend_schema_serializer(component_name="OrgApiOrg")
class OrgSerializer(serializers.Serializer):  # type: ignore[type-arg]
    org_id = serializers.IntegerField()
    org_name = serializers.CharField()
    org_type = serializers.CharField()
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="OrgApiToken")
class TokenSerializer(serializers.Serializer):  # type: ignore[type-arg]
    org_id = serializers.IntegerField()
    org_name = serializers.CharField(required=False, help_text="full only")
    exchange_id = serializers.IntegerField(required=False, help_text="full only")
    exchange_name = serializers.CharField(required=False, help_text="full only")
    token_id = serializers.CharField()
    token_name = serializers.CharField()
    token_full_name = serializers.CharField()
    icon_url = serializers.CharField(required=False, help_text="full only")
    precision = serializers.IntegerField(required=False, help_text="full only")
    allow_withdraw = serializers.BooleanField()
    allow_deposit = serializers.BooleanField()
    min_deposit_quantity = serializers.CharField()
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="OrgApiSymbol")
class SymbolSerializer(serializers.Serializer):  # type: ignore[type-arg]
    org_id = serializers.IntegerField()
    symbol_id = serializers.CharField()
    symbol_name = serializers.CharField()
    base_token_id = serializers.CharField()
    base_token_name = serializers.CharField()
    quote_token_id = serializers.CharField()
    quote_token_name = serializers.CharField()
    base_precision = serializers.CharField(required=False, help_text="full only")
    quote_precision = serializers.CharField(required=False, help_text="full only")
    min_trade_quantity = serializers.CharField(required=False, help_text="full only")
    min_trade_amount = serializers.CharField(required=False, help_text="full only")
    min_price_precision = serializers.CharField(required=False, help_text="full only")
    digit_merge = serializers.CharField(required=False, help_text="full only")
    can_trade = serializers.BooleanField()
    can_buy = serializers.BooleanField()
    can_sell = serializers.BooleanField()
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="OrgApiUser")
class UserSerializer(serializers.Serializer):  # type: ignore[type-arg]
    uid = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    kyc_level = serializers.IntegerField()
    main_account_id = serializers.IntegerField()
    funding_account_id = serializers.IntegerField()
    option_account_id = serializers.IntegerField()
    future_account_id = serializers.IntegerField()
    margin_account_id = serializers.IntegerField()
    language = serializers.CharField()
    invite_code = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.IntegerField()
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="OrgApiBalance")
class BalanceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    balance_id = serializers.CharField()
    account_id = serializers.IntegerField()
    token_id = serializers.CharField()
    total = serializers.CharField()
    available = serializers.CharField()
    locked = serializers.CharField(help_text="held by open orders and pending withdrawals")
    lockup = serializers.CharField(help_text="finance lock-ups")
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="OrgApiOrder")
class OrderSerializer(serializers.Serializer):  # type: ignore[type-arg]
    order_id = serializers.IntegerField()
    client_order_id = serializers.CharField()
    uid = serializers.CharField()
    account_id = serializers.IntegerField()
    symbol_id = serializers.CharField()
    side = serializers.CharField()
    type = serializers.CharField()
    time_in_force = serializers.CharField()
    price = serializers.CharField()
    quantity = serializers.CharField()
    amount = serializers.CharField(help_text="quote to spend (market buys)")
    executed_quantity = serializers.CharField()
    executed_amount = serializers.CharField()
    fee = serializers.CharField()
    fee_token_id = serializers.CharField()
    status = serializers.CharField(help_text="NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED")
    reason = serializers.CharField()
    created_at = serializers.IntegerField()
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="OrgApiTrade")
class TradeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    trade_id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    client_order_id = serializers.CharField()
    match_order_id = serializers.IntegerField(allow_null=True, help_text="null when of another organization")
    uid = serializers.CharField()
    symbol_id = serializers.CharField()
    side = serializers.CharField()
    price = serializers.CharField()
    quantity = serializers.CharField()
    amount = serializers.CharField()
    fee = serializers.CharField()
    fee_token_id = serializers.CharField()
    is_maker = serializers.BooleanField()
    created_at = serializers.IntegerField()
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="OrgApiEvent")
class EventSerializer(serializers.Serializer):  # type: ignore[type-arg]
    event_id = serializers.IntegerField()
    event_type = serializers.CharField()
    created_at = serializers.IntegerField()
    event = serializers.DictField()
