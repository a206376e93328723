"""BGE API private endpoints (signed): accounts, funding ↔ trading transfers, orders, fills.

The trading account (交易账户) is the user's main SPOT account; the funding account (资金账户) is
their FUNDING account. Permissions: reads need ``read``, orders and cancels ``trade``, transfers
``transfer``.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.funding import transfer_create
from apps.accounts.models import AccountType
from apps.accounts.selectors import user_balances
from apps.bgeapi import errors
from apps.bgeapi.base import BgeView
from apps.bgeapi.shapes import (
    NO_CLIENT_OID,
    client_oid,
    fill_shape,
    order_shape,
    product_name,
    product_symbol,
)
from apps.core.errors import CancelRejected, OrderNotFound, UnknownToken
from apps.core.money import ZERO, fmt, money_context
from apps.tokens.models import Symbol
from apps.tokens.selectors import tokens_offered
from apps.trading import selectors as trading_selectors
from apps.trading import services as trading
from apps.trading.models import Order, OrderStatus

CLIENT_OID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
LIST_LIMIT_DEFAULT = 100
LIST_LIMIT_MAX = 1000


@extend_schema_serializer(component_name="BgeAccount")
class AccountSerializer(serializers.Serializer):  # type: ignore[type-arg]
    available = serializers.CharField()
    balance = serializers.CharField(help_text="available + hold")
    currency = serializers.CharField()
    hold = serializers.CharField()


@extend_schema_serializer(component_name="BgeTransfer")
class TransferSerializer(serializers.Serializer):  # type: ignore[type-arg]
    amount = serializers.CharField()
    currency = serializers.CharField()
    client_oid = serializers.CharField(required=False, help_text="optional; repeats return the first transfer")


@extend_schema_serializer(component_name="BgeOrder")
class OrderSerializer(serializers.Serializer):  # type: ignore[type-arg]
    order_id = serializers.CharField()
    client_oid = serializers.CharField()
    product = serializers.CharField()
    side = serializers.CharField()
    type = serializers.CharField()
    price = serializers.CharField()
    size = serializers.CharField()
    funds = serializers.CharField()
    filled_size = serializers.CharField(help_text="quote filled (成交金额)")
    filled_amount = serializers.CharField(help_text="base filled (成交数量)")
    filled_fees = serializers.CharField()
    filled_average_price = serializers.CharField()
    status = serializers.CharField(help_text="0 pending, 1 new, 2 partially filled, 3 filled, 4/5 canceled, 6 rejected")
    created_at = serializers.CharField()
    updated_at = serializers.CharField()


@extend_schema_serializer(component_name="BgeFill")
class FillSerializer(serializers.Serializer):  # type: ignore[type-arg]
    product = serializers.CharField()
    order_id = serializers.CharField()
    trade_id = serializers.CharField()
    liquidity = serializers.CharField()
    price = serializers.CharField()
    size = serializers.CharField()
    fee = serializers.CharField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    side = serializers.CharField()


def _account_row(currency: str, available: Any, hold: Any) -> dict[str, Any]:
    with money_context():
        return {
            "available": fmt(available),
            "balance": fmt(available + hold),
            "currency": currency,
            "hold": fmt(hold),
        }


# --- accounts -----------------------------------------------------------------------------------
class AccountListApi(BgeView):
    permissions = {"GET": "read"}

    @extend_schema(responses=AccountSerializer(many=True), summary="Trading account balances, every currency")
    def get(self, request: Request) -> Response:
        assert self.user.organization_id is not None
        held = {b.token_id: b for b in user_balances(user=self.user)}
        rows = []
        for token in tokens_offered(organization_id=self.user.organization_id):
            balance = held.pop(token.pk, None)
            rows.append(_account_row(token.pk, *((balance.available, balance.hold) if balance else (ZERO, ZERO))))
        rows += [_account_row(b.token_id, b.available, b.hold) for b in held.values()]  # delisted, still held
        return Response(sorted(rows, key=lambda r: r["currency"]))


class AccountDetailApi(BgeView):
    permissions = {"GET": "read"}

    @extend_schema(responses=AccountSerializer, summary="One currency of the trading account")
    def get(self, request: Request, currency: str) -> Response:
        assert self.user.organization_id is not None
        token_id = currency.strip().upper()
        balance = user_balances(user=self.user).filter(token_id=token_id).first()
        if balance is not None:
            return Response(_account_row(token_id, balance.available, balance.hold))
        if not tokens_offered(organization_id=self.user.organization_id).filter(pk=token_id).exists():
            raise UnknownToken(f"Unknown currency: {currency}")
        return Response(_account_row(token_id, ZERO, ZERO))


# --- transfers ----------------------------------------------------------------------------------
class _TransferApi(BgeView):
    permissions = {"POST": "transfer"}
    from_type: str
    to_type: str

    def post(self, request: Request) -> Response:
        data = self.body(request)
        currency = str(data.get("currency") or "").strip().upper()
        if not currency:
            raise errors.BgeError(1001, "currency is required")
        if data.get("amount") in (None, ""):
            raise errors.BgeError(1001, "amount is required")
        cid = data.get("client_oid")
        if cid is not None and not CLIENT_OID.match(str(cid)):
            raise errors.BgeError(1091, "1–32 characters of A-Z a-z 0-9 _ -")
        transfer = transfer_create(
            user=self.user,
            token_id=currency,
            amount=data["amount"],
            from_type=self.from_type,
            to_type=self.to_type,
            client_order_id=f"bge-{cid}" if cid else None,
        )
        return Response({"amount": fmt(transfer.amount), "currency": transfer.token_id})


class FundingToTradingApi(_TransferApi):
    from_type, to_type = AccountType.FUNDING, AccountType.SPOT
    error_context = errors.TRANSFER_IN

    @extend_schema(
        request=TransferSerializer,
        responses=TransferSerializer,
        summary="Move funds from the funding account to the trading account",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class TradingToFundingApi(_TransferApi):
    from_type, to_type = AccountType.SPOT, AccountType.FUNDING
    error_context = errors.TRANSFER_OUT

    @extend_schema(
        request=TransferSerializer,
        responses=TransferSerializer,
        summary="Move funds from the trading account to the funding account (to withdraw them)",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


# --- orders -------------------------------------------------------------------------------------
def _client_oid_param(value: Any) -> str | None:
    """A client_oid as sent: ``None`` when absent or the seed's default ``"0"``; 1091 when malformed."""
    if value is None or value == "" or str(value) == NO_CLIENT_OID:
        return None
    text = str(value)
    if not CLIENT_OID.match(text):
        raise errors.BgeError(1091, "1–32 characters of A-Z a-z 0-9 _ -")
    return text


def _order_id(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OrderNotFound() from None


class _OrderApi(BgeView):
    error_context = errors.ORDER

    def shape(self, order: Order) -> dict[str, Any]:
        return order_shape(order, product_name(order.symbol))

    def cancel(self, **lookup: Any) -> Order:
        """Request a cancel; an order already done answers 1061 (canceled) or 1062 (filled)."""
        try:
            return trading.order_cancel(user=self.user, **lookup)
        except CancelRejected:
            order = trading.order_get(user=self.user, **lookup)
            if order.status == OrderStatus.FILLED:
                raise errors.BgeError(1062) from None
            if order.status == OrderStatus.CANCELED:
                raise errors.BgeError(1061) from None
            raise errors.BgeError(1063, f"order is {order.status}") from None

    def product(self, value: Any) -> Symbol:
        assert self.user.organization_id is not None
        return product_symbol(organization_id=self.user.organization_id, product=str(value or ""))


ORDER_LIST_PARAMS = [
    OpenApiParameter("product", str, description="e.g. BTC_USDT"),
    OpenApiParameter("order_id", str),
    OpenApiParameter("client_oid", str),
    OpenApiParameter("after", int, description="page: ids older than this id"),
    OpenApiParameter("before", int, description="page: ids newer than this id"),
    OpenApiParameter("limit", int, description="default 100, at most 1000"),
]


class OrderListCreateCancelApi(_OrderApi):
    permissions = {"GET": "read", "POST": "trade", "DELETE": "trade"}

    @extend_schema_serializer(component_name="BgeOrderNew")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        product = serializers.CharField()
        side = serializers.ChoiceField(choices=["buy", "sell"])
        type = serializers.ChoiceField(choices=["limit", "market"])
        stp = serializers.ChoiceField(choices=["dc", "co", "cn", "cb"], required=False)
        time_in_force = serializers.CharField(required=False, help_text="GTC (default); IOC and FOK also accepted")
        price = serializers.CharField(required=False)
        size = serializers.CharField(required=False, help_text="limit orders and market sells: base quantity")
        funds = serializers.CharField(required=False, help_text="market buys: quote to spend")
        client_oid = serializers.CharField(required=False)

    @extend_schema_serializer(component_name="BgeOrderNewResult")
    class CreatedSerializer(serializers.Serializer):  # type: ignore[type-arg]
        order_id = serializers.CharField()
        client_oid = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses=CreatedSerializer,
        summary="Place an order (a repeated client_oid returns the first order and places nothing)",
    )
    def post(self, request: Request) -> Response:
        data = self.body(request)
        cid = _client_oid_param(data.get("client_oid"))
        symbol = self.product(data.get("product"))
        order_type = str(data.get("type") or "").lower()
        side = str(data.get("side") or "").lower()
        if order_type not in ("limit", "market"):
            raise errors.BgeError(1001, "type must be limit or market")
        if side not in ("buy", "sell"):
            raise errors.BgeError(1001, "side must be buy or sell")
        args: dict[str, Any] = {"stp": str(data.get("stp") or "dc").lower()}
        if order_type == "limit":
            args.update(price=data.get("price"), quantity=data.get("size"))
            args["time_in_force"] = str(data.get("time_in_force") or "gtc").lower()
        elif side == "buy":
            if data.get("funds") in (None, ""):
                raise errors.BgeError(1057, "a market buy takes funds (the quote to spend)")
            args["quote_amount"] = data.get("funds")
        else:
            args["quantity"] = data.get("size")
        order = trading.order_place(
            user=self.user, symbol_id=symbol.pk, side=side, type=order_type, client_order_id=cid, **args
        )
        return Response({"order_id": str(order.pk), "client_oid": client_oid(order)})

    @extend_schema(
        parameters=ORDER_LIST_PARAMS, responses=OrderSerializer(many=True), summary="Open orders, newest first"
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        symbol = self.product(params["product"]) if params.get("product") else None
        order_id, cid = params.get("order_id"), _client_oid_param(params.get("client_oid"))
        if order_id or cid:
            try:
                order = trading.order_get(
                    user=self.user, order_id=_order_id(order_id) if order_id else None, client_order_id=cid
                )
            except OrderNotFound:
                return Response([])
            wanted = order.is_open and (symbol is None or order.symbol_id == symbol.pk)
            return Response([self.shape(order)] if wanted else [])
        limit = self.query_int(request, "limit", default=LIST_LIMIT_DEFAULT)
        orders = trading_selectors.orders_open(
            user=self.user,
            symbol_id=symbol.pk if symbol else None,
            limit=limit,
            from_id=self.query_int(request, "after"),
            to_id=self.query_int(request, "before"),
        )
        return Response([self.shape(o) for o in orders])

    @extend_schema(
        operation_id="bge_orders_cancel_all",
        parameters=[OpenApiParameter("product", str, required=True)],
        responses={200: OpenApiTypes.OBJECT},
        summary="Cancel every open order of a product (asynchronous): the ids whose cancel was requested",
    )
    def delete(self, request: Request) -> Response:
        product = request.query_params.get("product")
        if not product:
            raise errors.BgeError(1089)
        symbol = self.product(product)
        ids = trading.order_cancel_all_requested(user=self.user, symbol_id=symbol.pk)
        return Response([str(pk) for pk in ids])


class OrderDetailApi(_OrderApi):
    permissions = {"GET": "read", "DELETE": "trade"}

    @extend_schema(responses=OrderSerializer, summary="One order by its order_id")
    def get(self, request: Request, order_id: str) -> Response:
        return Response(self.shape(trading.order_get(user=self.user, order_id=_order_id(order_id))))

    @extend_schema(request=None, responses={200: OpenApiTypes.STR}, summary="Cancel an order; answers its order_id")
    def delete(self, request: Request, order_id: str) -> Response:
        return Response(str(self.cancel(order_id=_order_id(order_id)).pk))


class OrderByClientOidApi(_OrderApi):
    permissions = {"GET": "read", "DELETE": "trade"}

    def _cid(self, value: str) -> str:
        cid = _client_oid_param(value)
        if cid is None:
            raise OrderNotFound()
        return cid

    @extend_schema(responses=OrderSerializer, summary="The newest order with this client_oid")
    def get(self, request: Request, client_oid: str) -> Response:
        return Response(self.shape(trading.order_get(user=self.user, client_order_id=self._cid(client_oid))))

    @extend_schema(
        request=None, responses={200: OpenApiTypes.STR}, summary="Cancel the order with this client_oid; its order_id"
    )
    def delete(self, request: Request, client_oid: str) -> Response:
        return Response(str(self.cancel(client_order_id=self._cid(client_oid)).pk))


class FillListApi(_OrderApi):
    permissions = {"GET": "read"}

    @extend_schema(parameters=ORDER_LIST_PARAMS, responses=FillSerializer(many=True), summary="Fills, newest first")
    def get(self, request: Request) -> Response:
        params = request.query_params
        symbol = self.product(params["product"]) if params.get("product") else None
        order_pk: int | None = None
        cid = _client_oid_param(params.get("client_oid"))
        if params.get("order_id"):
            order_pk = _order_id(params["order_id"])
        elif cid:
            try:
                order_pk = trading.order_get(user=self.user, client_order_id=cid).pk
            except OrderNotFound:
                return Response([])
        limit = self.query_int(request, "limit", default=LIST_LIMIT_DEFAULT)
        if limit is not None and not 1 <= limit <= LIST_LIMIT_MAX:
            raise errors.BgeError(1001, f"limit must be between 1 and {LIST_LIMIT_MAX}")
        trades = trading_selectors.fills(
            user=self.user,
            symbol_id=symbol.pk if symbol else None,
            order_id=order_pk,
            from_id=self.query_int(request, "after"),
            to_id=self.query_int(request, "before"),
            limit=limit,
        )
        return Response([fill_shape(t, user_id=self.user.pk, product=product_name(t.symbol)) for t in trades])
