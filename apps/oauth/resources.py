"""The OAuth resource API (seed 000/001 "OAuth API"): the user is the token's, never a parameter.

Each view names its scope; ``OAuthApi`` (apps/oauth/authentication.py) checks the token, the
per-token rate limit and the scope before the view runs. Views only parse parameters and call
the domain's selectors and services; the payload shapes use the seed's object field names
(``*_id``, amounts as strings, millisecond times) and are built here, in one place per object.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import funding
from apps.accounts import selectors as account_selectors
from apps.accounts.models import AccountType, Posting
from apps.core.errors import CancelRejected
from apps.core.money import fmt
from apps.oauth import scopes
from apps.oauth.authentication import OAuthApi
from apps.trading import selectors as trading_selectors
from apps.trading import services as trading_services
from apps.trading.models import Order, OrderStatus, Trade
from apps.trading.selectors import order_payload, trade_payload
from apps.trading.statuses import bhex_status
from apps.users.models import User

PAGE_PARAMS = [
    OpenApiParameter("from_id", int, description="Rows with a smaller id (older), newest first"),
    OpenApiParameter("to_id", int, description="Rows with a larger id (newer), oldest first"),
    OpenApiParameter("limit", int, description="1–1000, default 20"),
]
TIME_PARAMS = [
    OpenApiParameter("start_time", int, description="Milliseconds since the epoch"),
    OpenApiParameter("end_time", int, description="Milliseconds since the epoch"),
]


def _ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if value else None


class PageInput(serializers.Serializer):  # type: ignore[type-arg]
    from_id = serializers.IntegerField(required=False, min_value=0)
    to_id = serializers.IntegerField(required=False, min_value=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:  # type: ignore[type-arg]
    data = serializer_class(data=request.query_params)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


# --- payloads -----------------------------------------------------------------------------------
def user_out(user: User, main_account_id: int | None) -> dict[str, Any]:
    return {
        "uid": str(user.uid) if user.uid else "",
        "email": user.email,
        "phone": user.phone,
        "kyc_level": user.kyc_level,
        "main_account_id": str(main_account_id) if main_account_id else "",
        "language": user.language,
        "created_at": _ms(user.date_joined),
    }


def order_out(order: Order) -> dict[str, Any]:
    base = order_payload(order)
    return {
        "order_id": base["order_id"],
        "client_order_id": base["client_order_id"],
        "account_id": str(order.account_id),
        "symbol_id": base["symbol"],
        "side": base["side"].upper(),
        "type": base["type"].upper(),
        "time_in_force": base["time_in_force"].upper(),
        "price": base["price"],
        "quantity": base["quantity"],
        "quote_amount": base["quote_amount"],
        "executed_quantity": base["executed_quantity"],
        "executed_amount": base["executed_quote"],
        "fee": base["fee"],
        "fee_token_id": base["fee_token"],
        "status": bhex_status(order.status),
        "created_at": base["created_at"],
        "updated_at": base["updated_at"],
    }


def trade_out(trade: Trade, user: User) -> dict[str, Any]:
    own, other = (
        (trade.buy_order, trade.sell_order) if trade.buyer_id == user.pk else (trade.sell_order, trade.buy_order)
    )
    base = trade_payload(trade, own)
    return {
        "trade_id": base["trade_id"],
        "order_id": base["order_id"],
        "match_order_id": str(other.pk),
        "client_order_id": base["client_order_id"],
        "symbol_id": base["symbol"],
        "side": base["side"].upper(),
        "price": base["price"],
        "quantity": base["quantity"],
        "amount": base["quote_quantity"],
        "fee": base["fee"],
        "fee_token_id": base["fee_token"],
        "is_maker": base["is_maker"],
        "time": base["time"],
    }


def posting_out(posting: Posting) -> dict[str, Any]:
    return {
        "id": str(posting.pk),
        "account_id": str(posting.account_id),
        "account_type": posting.account.type,
        "token_id": posting.token_id,
        "bucket": posting.bucket,
        "change": fmt(posting.amount),
        "total": fmt(posting.total_after),
        "kind": posting.transaction.kind,
        "reference": posting.transaction.reference,
        "created_at": _ms(posting.created_at),
    }


@extend_schema_serializer(component_name="OAuthUser")
class UserSerializer(serializers.Serializer):  # type: ignore[type-arg]
    uid = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    kyc_level = serializers.IntegerField()
    main_account_id = serializers.CharField()
    language = serializers.CharField()
    created_at = serializers.IntegerField()


@extend_schema_serializer(component_name="OAuthOrder")
class OrderSerializer(serializers.Serializer):  # type: ignore[type-arg]
    order_id = serializers.CharField()
    client_order_id = serializers.CharField()
    account_id = serializers.CharField()
    symbol_id = serializers.CharField()
    side = serializers.CharField(help_text="BUY or SELL")
    type = serializers.CharField(help_text="LIMIT, MARKET or LIMIT_MAKER")
    time_in_force = serializers.CharField(help_text="GTC, IOC or FOK")
    price = serializers.CharField()
    quantity = serializers.CharField()
    quote_amount = serializers.CharField()
    executed_quantity = serializers.CharField()
    executed_amount = serializers.CharField()
    fee = serializers.CharField()
    fee_token_id = serializers.CharField()
    status = serializers.CharField(help_text="NEW, PARTIALLY_FILLED, FILLED, CANCELED or REJECTED")
    created_at = serializers.IntegerField()
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="OAuthTrade")
class TradeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    trade_id = serializers.CharField()
    order_id = serializers.CharField()
    match_order_id = serializers.CharField()
    client_order_id = serializers.CharField()
    symbol_id = serializers.CharField()
    side = serializers.CharField(help_text="BUY or SELL")
    price = serializers.CharField()
    quantity = serializers.CharField()
    amount = serializers.CharField()
    fee = serializers.CharField()
    fee_token_id = serializers.CharField()
    is_maker = serializers.BooleanField()
    time = serializers.IntegerField()


# --- userInfo -----------------------------------------------------------------------------------
def _main_account_id(user: User) -> int | None:
    return (
        account_selectors.user_accounts(user=user)
        .filter(type=AccountType.SPOT, index=0)
        .values_list("pk", flat=True)
        .first()
    )


class UserInfoApi(OAuthApi):
    required_scope = scopes.USER_INFO

    @extend_schema(responses=UserSerializer, summary="The user's profile (scope userInfo)", tags=["OAuth API"])
    def get(self, request: Request) -> Response:
        user = self.oauth_user
        return Response(user_out(user, _main_account_id(user)))


# --- accountInfo --------------------------------------------------------------------------------
@extend_schema_serializer(component_name="OAuthAccountRef")
class AccountSerializer(serializers.Serializer):  # type: ignore[type-arg]
    account_id = serializers.CharField()
    account_type = serializers.CharField()
    account_index = serializers.IntegerField()
    account_name = serializers.CharField()


class AccountInfoApi(OAuthApi):
    required_scope = scopes.ACCOUNT_INFO

    @extend_schema_serializer(component_name="OAuthAccountInfo")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        uid = serializers.CharField()
        main_account_id = serializers.CharField()
        accounts = AccountSerializer(many=True)

    @extend_schema(responses=OutputSerializer, summary="The user's accounts (scope accountInfo)", tags=["OAuth API"])
    def get(self, request: Request) -> Response:
        user = self.oauth_user
        accounts = list(account_selectors.user_accounts(user=user))
        main = next((a.pk for a in accounts if a.type == AccountType.SPOT and a.index == 0), None)
        return Response(
            {
                "uid": str(user.uid) if user.uid else "",
                "main_account_id": str(main) if main else "",
                "accounts": [
                    {"account_id": str(a.pk), "account_type": a.type, "account_index": a.index, "account_name": a.name}
                    for a in accounts
                ],
            }
        )


class AssetApi(OAuthApi):
    required_scope = scopes.ACCOUNT_INFO

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token_id = serializers.CharField(required=False)
        account_type = serializers.ChoiceField(choices=[AccountType.SPOT, AccountType.FUNDING], required=False)

    @extend_schema_serializer(component_name="OAuthBalance")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        account_id = serializers.CharField()
        token_id = serializers.CharField()
        total = serializers.CharField()
        available = serializers.CharField()
        locked = serializers.CharField(help_text="Held by open orders and pending withdrawals")
        lockup = serializers.CharField(help_text="Locked up by finance operations")
        updated_at = serializers.IntegerField()

    @extend_schema(
        parameters=[
            OpenApiParameter("token_id", str),
            OpenApiParameter("account_type", str, enum=["spot", "funding"], description="Default spot (main)"),
        ],
        responses=OutputSerializer(many=True),
        summary="Balances of the user's main spot (or funding) account (scope accountInfo)",
        tags=["OAuth API"],
    )
    def get(self, request: Request) -> Response:
        params = _query(self.InputSerializer, request)
        balances = account_selectors.user_balances(
            user=self.oauth_user, account_type=params.get("account_type") or AccountType.SPOT
        )
        if params.get("token_id"):
            balances = balances.filter(token_id=params["token_id"].upper())
        return Response(
            [
                {
                    "account_id": str(b.account_id),
                    "token_id": b.token_id,
                    "total": fmt(b.total),
                    "available": fmt(b.available),
                    "locked": fmt(b.hold),
                    "lockup": fmt(b.lockup),
                    "updated_at": _ms(b.updated_at),
                }
                for b in balances
            ]
        )


class DepositAddressApi(OAuthApi):
    required_scope = scopes.ACCOUNT_INFO

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token_id = serializers.CharField()
        chain = serializers.CharField(required=False)

    @extend_schema_serializer(component_name="OAuthDepositAddress")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token_id = serializers.CharField()
        chain = serializers.CharField()
        address = serializers.CharField()
        memo = serializers.CharField()
        min_deposit_quantity = serializers.CharField()
        confirmations_required = serializers.IntegerField()

    @extend_schema(
        parameters=[OpenApiParameter("token_id", str, required=True), OpenApiParameter("chain", str)],
        responses=OutputSerializer,
        summary="The user's deposit address for a token (scope accountInfo)",
        tags=["OAuth API"],
    )
    def get(self, request: Request) -> Response:
        params = _query(self.InputSerializer, request)
        row = funding.deposit_address_get(
            user=self.oauth_user, token_id=params["token_id"], chain=params.get("chain") or None
        )
        return Response(
            {
                "token_id": row.token_id,
                "chain": row.chain.chain,
                "address": row.address,
                "memo": row.memo,
                "min_deposit_quantity": fmt(row.token.min_deposit),
                "confirmations_required": row.chain.confirmations_required,
            }
        )


# --- accountDetail ------------------------------------------------------------------------------
class TokenPageInput(PageInput):
    token_id = serializers.CharField(required=False)


def _token_page(request: Request) -> dict[str, Any]:
    params = _query(TokenPageInput, request)
    return {
        "token_id": params.get("token_id") or None,
        "from_id": params.get("from_id"),
        "to_id": params.get("to_id"),
        "limit": params.get("limit"),
    }


class BalanceFlowApi(OAuthApi):
    required_scope = scopes.ACCOUNT_DETAIL

    @extend_schema_serializer(component_name="OAuthBalanceFlowEntry")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        id = serializers.CharField()
        account_id = serializers.CharField()
        account_type = serializers.CharField()
        token_id = serializers.CharField()
        bucket = serializers.CharField()
        change = serializers.CharField()
        total = serializers.CharField(help_text="The token's total in that account after this change")
        kind = serializers.CharField()
        reference = serializers.CharField()
        created_at = serializers.IntegerField()

    @extend_schema(
        parameters=[OpenApiParameter("token_id", str), *PAGE_PARAMS],
        responses=OutputSerializer(many=True),
        summary="Balance flow: every change to the user's balances, by id (scope accountDetail)",
        tags=["OAuth API"],
    )
    def get(self, request: Request) -> Response:
        postings = account_selectors.balance_flow(user=self.oauth_user, **_token_page(request))
        return Response([posting_out(p) for p in postings])


@extend_schema_serializer(component_name="OAuthDeposit")
class DepositSerializer(serializers.Serializer):  # type: ignore[type-arg]
    deposit_id = serializers.CharField()
    token_id = serializers.CharField()
    chain = serializers.CharField()
    address = serializers.CharField()
    memo = serializers.CharField()
    txid = serializers.CharField()
    amount = serializers.CharField()
    confirmations = serializers.IntegerField()
    confirmations_required = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.IntegerField()
    credited_at = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="OAuthWithdrawal")
class WithdrawalSerializer(serializers.Serializer):  # type: ignore[type-arg]
    withdrawal_id = serializers.CharField()
    client_order_id = serializers.CharField()
    token_id = serializers.CharField()
    chain = serializers.CharField()
    address = serializers.CharField()
    memo = serializers.CharField()
    amount = serializers.CharField()
    fee = serializers.CharField()
    arrival_amount = serializers.CharField()
    status = serializers.CharField()
    txid = serializers.CharField()
    created_at = serializers.IntegerField()
    updated_at = serializers.IntegerField()


_DEPOSIT_FIELDS = (
    "deposit_id",
    "chain",
    "address",
    "memo",
    "txid",
    "amount",
    "confirmations",
    "confirmations_required",
    "status",
    "created_at",
    "credited_at",
)
_WITHDRAWAL_FIELDS = (
    "withdrawal_id",
    "client_order_id",
    "chain",
    "address",
    "memo",
    "amount",
    "fee",
    "arrival_amount",
    "status",
    "txid",
    "created_at",
    "updated_at",
)


class DepositHistoryApi(OAuthApi):
    required_scope = scopes.ACCOUNT_DETAIL

    @extend_schema(
        parameters=[OpenApiParameter("token_id", str), *PAGE_PARAMS],
        responses=DepositSerializer(many=True),
        summary="Deposits, including those still confirming (scope accountDetail)",
        tags=["OAuth API"],
    )
    def get(self, request: Request) -> Response:
        rows = account_selectors.deposits_of(user=self.oauth_user, **_token_page(request))
        return Response([_pick(funding.deposit_payload(row), _DEPOSIT_FIELDS) for row in rows])


class WithdrawHistoryApi(OAuthApi):
    required_scope = scopes.ACCOUNT_DETAIL

    @extend_schema(
        parameters=[OpenApiParameter("token_id", str), *PAGE_PARAMS],
        responses=WithdrawalSerializer(many=True),
        summary="Withdrawals, including those in progress (scope accountDetail)",
        tags=["OAuth API"],
    )
    def get(self, request: Request) -> Response:
        rows = account_selectors.withdrawals_of(user=self.oauth_user, **_token_page(request))
        return Response([_pick(funding.withdrawal_payload(row), _WITHDRAWAL_FIELDS) for row in rows])


def _pick(payload: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    out = {"token_id": payload["token"]}
    out.update({name: payload[name] for name in fields})
    return out


# --- tradeInfo ----------------------------------------------------------------------------------
class OrderListInput(PageInput):
    symbol_id = serializers.CharField(required=False)
    start_time = serializers.IntegerField(required=False, min_value=0)
    end_time = serializers.IntegerField(required=False, min_value=0)


def _order_filters(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol_id": params.get("symbol_id") or None,
        "from_id": params.get("from_id"),
        "to_id": params.get("to_id"),
        "limit": params.get("limit"),
        "start_ms": params.get("start_time"),
        "end_ms": params.get("end_time"),
    }


class OpenOrderListApi(OAuthApi):
    required_scope = scopes.TRADE_INFO

    @extend_schema(
        parameters=[OpenApiParameter("symbol_id", str), OpenApiParameter("limit", int, description="Default 500")],
        responses=OrderSerializer(many=True),
        summary="Open orders (scope tradeInfo)",
        tags=["OAuth API"],
    )
    def get(self, request: Request) -> Response:
        filters = _order_filters(_query(OrderListInput, request))
        orders = trading_selectors.orders_open(
            user=self.oauth_user, symbol_id=filters["symbol_id"], limit=filters["limit"]
        )
        return Response([order_out(o) for o in orders])


class HistoryOrderListApi(OAuthApi):
    required_scope = scopes.TRADE_INFO

    @extend_schema(
        parameters=[OpenApiParameter("symbol_id", str), *PAGE_PARAMS, *TIME_PARAMS],
        responses=OrderSerializer(many=True),
        summary="Finished orders: filled, canceled, rejected (scope tradeInfo)",
        tags=["OAuth API"],
    )
    def get(self, request: Request) -> Response:
        filters = _order_filters(_query(OrderListInput, request))
        orders = trading_selectors.orders_history(user=self.oauth_user, **filters)
        return Response([order_out(o) for o in orders])


class TradeDetailListApi(OAuthApi):
    required_scope = scopes.TRADE_INFO

    class InputSerializer(OrderListInput):
        order_id = serializers.IntegerField(required=False, min_value=1)

    @extend_schema(
        parameters=[
            OpenApiParameter("symbol_id", str),
            OpenApiParameter("order_id", int),
            *PAGE_PARAMS,
            *TIME_PARAMS,
        ],
        responses=TradeSerializer(many=True),
        summary="The user's trades (fills) (scope tradeInfo)",
        tags=["OAuth API"],
    )
    def get(self, request: Request) -> Response:
        user = self.oauth_user
        params = _query(self.InputSerializer, request)
        trades = trading_selectors.fills(user=user, order_id=params.get("order_id"), **_order_filters(params))
        return Response([trade_out(t, user) for t in trades])


# --- trade --------------------------------------------------------------------------------------
class PlaceOrderApi(OAuthApi):
    required_scope = scopes.TRADE

    @extend_schema_serializer(component_name="OAuthPlaceOrderInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        symbol_id = serializers.CharField()
        side = serializers.CharField(help_text="BUY or SELL (any case)")
        type = serializers.CharField(help_text="LIMIT, MARKET or LIMIT_MAKER (any case)")
        quantity = serializers.CharField(required=False, help_text="Base quantity (limit orders, market sells)")
        price = serializers.CharField(required=False)
        quote_amount = serializers.CharField(required=False, help_text="Quote amount to spend (market buys)")
        time_in_force = serializers.CharField(required=False, help_text="GTC (default), IOC or FOK")
        client_order_id = serializers.CharField(
            max_length=64, help_text="Your unique id: repeating it returns the first order and places nothing"
        )

    @extend_schema(
        request=InputSerializer,
        responses=OrderSerializer,
        summary="Place a spot order; idempotent by client_order_id (scope trade)",
        tags=["OAuth API"],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        order = trading_services.order_place(
            user=self.oauth_user,
            symbol_id=params["symbol_id"],
            side=params["side"],
            type=params["type"],
            quantity=params.get("quantity"),
            price=params.get("price"),
            quote_amount=params.get("quote_amount"),
            time_in_force=params.get("time_in_force"),
            client_order_id=params["client_order_id"],
        )
        return Response(order_out(order))


class CancelOrderApi(OAuthApi):
    required_scope = scopes.TRADE

    @extend_schema_serializer(component_name="OAuthCancelOrderInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        order_id = serializers.IntegerField(required=False, min_value=1)
        client_order_id = serializers.CharField(required=False, max_length=64)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs.get("order_id") and not attrs.get("client_order_id"):
                raise serializers.ValidationError("order_id or client_order_id is required")
            return attrs

    @extend_schema(
        request=InputSerializer,
        responses=OrderSerializer,
        summary="Cancel an order; repeating it returns the canceled order (scope trade)",
        tags=["OAuth API"],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lookup = {
            "order_id": data.validated_data.get("order_id"),
            "client_order_id": data.validated_data.get("client_order_id"),
        }
        user = self.oauth_user
        try:
            order = trading_services.order_cancel(user=user, **lookup)
        except CancelRejected:
            # Already canceled (an earlier call, or the engine): the same answer again, no new effect.
            order = trading_services.order_get(user=user, **lookup)
            if order.status != OrderStatus.CANCELED:
                raise
        return Response(order_out(order))
