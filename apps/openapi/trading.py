"""Signed trading endpoints: orders, open/history orders, account, my trades."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.selectors import user_balances
from apps.core.money import fmt
from apps.openapi import shapes
from apps.openapi.auth import can_trade, can_withdraw
from apps.openapi.base import ARRAY, OBJECT, SIGNED, OpenApiView, query, responses
from apps.openapi.errors import OpenApiError, mandatory
from apps.openapi.params import Params
from apps.trading import selectors as trading_selectors
from apps.trading import services as trading
from apps.trading.models import OPEN_STATUSES, Order, OrderStatus, OrderType, TimeInForce, Trade
from apps.trading.statuses import bhex_status
from apps.users.models import User

SIDES = {"BUY": "buy", "SELL": "sell"}
TYPES = {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET, "LIMIT_MAKER": OrderType.LIMIT_MAKER}
TIME_IN_FORCE = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}


def order_arguments(params: Params) -> dict[str, Any]:
    """``order_place`` / ``order_validate`` arguments from BHEX order parameters.

    A MARKET order rests nowhere, so a ``timeInForce`` of GTC (what many BHEX SDKs send by default)
    or none means IOC; its ``price`` is ignored. A MARKET BUY's ``quantity`` is the quote amount to
    spend (DESIGN.md §11).
    """
    symbol = params.required("symbol", max_length=32)
    side = params.choice("side", SIDES, code=-1117, message="Invalid side.")
    if side is None:
        raise mandatory("side")
    order_type = params.choice("type", TYPES, code=-1116, message="Invalid orderType.")
    if order_type is None:
        raise mandatory("type")
    quantity = params.decimal("quantity", required=True)
    price = params.decimal("price")
    time_in_force = params.choice("timeInForce", TIME_IN_FORCE, code=-1115, message="Invalid timeInForce.")
    arguments: dict[str, Any] = {"symbol_id": symbol.upper(), "side": side, "type": order_type}
    if order_type == OrderType.MARKET:
        if time_in_force in (None, TimeInForce.GTC):
            time_in_force = TimeInForce.IOC
        if side == "buy":
            arguments["quote_amount"] = quantity
        else:
            arguments["quantity"] = quantity
    else:
        if price is None:
            raise mandatory("price")
        arguments["price"] = price
        arguments["quantity"] = quantity
        time_in_force = time_in_force or TimeInForce.GTC
    arguments["time_in_force"] = time_in_force
    return arguments


ORDER_PARAMS = [
    query("symbol", str, True),
    query("side", str, True, "BUY or SELL"),
    query("type", str, True, "LIMIT, MARKET or LIMIT_MAKER"),
    query("timeInForce", str, False, "GTC, IOC or FOK"),
    query("quantity", str, True, "Base quantity; for a MARKET BUY the quote amount to spend"),
    query("price", str, False, "Required for LIMIT and LIMIT_MAKER"),
    query("newClientOrderId", str, False, "Your unique id; repeating it returns the first order"),
    *SIGNED,
]


def _order_lookup(params: Params, *client_names: str) -> dict[str, Any]:
    order_id = params.integer("orderId")
    client_order_id = None
    for name in client_names:
        client_order_id = client_order_id or params.text(name, max_length=64)
    if order_id is None and not client_order_id:
        raise OpenApiError(-1102, f"Param 'orderId' or '{client_names[0]}' must be sent, but both were empty/null!")
    return {"order_id": order_id, "client_order_id": None if order_id is not None else client_order_id}


class OrderApi(OpenApiView):
    @extend_schema(
        parameters=ORDER_PARAMS,
        request=None,
        responses=responses(
            {
                "type": "object",
                "properties": {"orderId": {"type": "integer"}, "clientOrderId": {"type": "string"}},
            }
        ),
        summary="New order (TRADE)",
        tags=["openapi-trade"],
    )
    def post(self, request: Request) -> Response:
        caller = self.signed(request, "trade")
        order = trading.order_place(
            user=caller.user,
            client_order_id=self.params.text("newClientOrderId", max_length=64),
            **order_arguments(self.params),
        )
        return Response({"orderId": order.pk, "clientOrderId": order.client_order_id})

    @extend_schema(
        parameters=[query("orderId", int), query("origClientOrderId", str), *SIGNED],
        responses=responses(OBJECT),
        summary="Query order (USER_DATA)",
        tags=["openapi-trade"],
    )
    def get(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        order = trading.order_get(user=caller.user, **_order_lookup(self.params, "origClientOrderId", "clientOrderId"))
        return Response(shapes.order(trading_selectors.order_payload(order)))

    @extend_schema(
        parameters=[query("orderId", int), query("clientOrderId", str), *SIGNED],
        request=None,
        responses=responses(OBJECT),
        summary="Cancel order (TRADE)",
        tags=["openapi-trade"],
    )
    def delete(self, request: Request) -> Response:
        caller = self.signed(request, "trade")
        lookup = _order_lookup(self.params, "clientOrderId", "origClientOrderId")
        order = trading.order_get(user=caller.user, **lookup)
        if order.status == OrderStatus.FILLED:
            raise OpenApiError(-1139, "Order has been filled.")
        if order.status in (OrderStatus.CANCELED, OrderStatus.REJECTED):
            raise OpenApiError(-1142, "Order has been canceled.")
        order = trading.order_cancel(user=caller.user, order_id=order.pk)
        # The cancel is a command for the matching worker: until it has run, the order is still
        # open and BHEX's PENDING_CANCEL says exactly that.
        status = "PENDING_CANCEL" if order.status in OPEN_STATUSES else bhex_status(order.status)
        return Response(
            {"symbol": order.symbol_id, "clientOrderId": order.client_order_id, "orderId": order.pk, "status": status}
        )


class OrderTestApi(OpenApiView):
    @extend_schema(
        parameters=ORDER_PARAMS,
        request=None,
        responses=responses(OBJECT),
        summary="Test new order: validated, never placed (TRADE)",
        tags=["openapi-trade"],
    )
    def post(self, request: Request) -> Response:
        caller = self.signed(request, "trade")
        client_order_id = self.params.text("newClientOrderId", max_length=64)
        if client_order_id and not trading.CLIENT_ORDER_ID.match(client_order_id):
            raise OpenApiError(-1130, "Data sent for parameter 'newClientOrderId' is not valid.")
        trading.order_validate(user=caller.user, **order_arguments(self.params))
        return Response({})


def _orders(orders: list[Order]) -> list[dict[str, Any]]:
    return [shapes.order(trading_selectors.order_payload(o)) for o in orders]


class OpenOrdersApi(OpenApiView):
    @extend_schema(
        parameters=[
            query("symbol", str),
            query("orderId", int, False, "Orders with a smaller id"),
            query("limit", int, False, "Default 500; max 1000"),
            *SIGNED,
        ],
        responses=responses(ARRAY),
        summary="Current open orders (USER_DATA)",
        tags=["openapi-trade"],
    )
    def get(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        orders = trading_selectors.orders_open(
            user=caller.user,
            symbol_id=self.params.text("symbol", max_length=32),
            from_id=self.params.integer("orderId", minimum=0),
            limit=self.params.limit(default=500, maximum=1000),
        )
        return Response(_orders(orders))


class HistoryOrdersApi(OpenApiView):
    @extend_schema(
        parameters=[
            query("symbol", str),
            query("orderId", int, False, "Orders with a smaller id"),
            query("startTime", int),
            query("endTime", int),
            query("limit", int, False, "Default 500; max 1000"),
            *SIGNED,
        ],
        responses=responses(ARRAY),
        summary="History orders: canceled, filled or rejected (USER_DATA)",
        tags=["openapi-trade"],
    )
    def get(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        orders = trading_selectors.orders_history(
            user=caller.user,
            symbol_id=self.params.text("symbol", max_length=32),
            from_id=self.params.integer("orderId", minimum=0),
            start_ms=self.params.integer("startTime"),
            end_ms=self.params.integer("endTime"),
            limit=self.params.limit(default=500, maximum=1000),
        )
        return Response(_orders(orders))


class AccountApi(OpenApiView):
    @extend_schema(
        parameters=SIGNED,
        responses=responses(OBJECT),
        summary="Account information (USER_DATA)",
        tags=["openapi-trade"],
    )
    def get(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        balances = list(user_balances(user=caller.user))
        updated = max((b.updated_at for b in balances), default=None)
        return Response(
            {
                "canTrade": can_trade(caller),
                "canWithdraw": can_withdraw(caller),
                "canDeposit": True,
                "updateTime": shapes.ms(updated),
                "balances": [{"asset": b.token_id, "free": fmt(b.available), "locked": fmt(b.hold)} for b in balances],
            }
        )


def my_trade(trade: Trade, user: User) -> dict[str, Any]:
    mine, other = (
        (trade.buy_order, trade.sell_order) if trade.buyer_id == user.pk else (trade.sell_order, trade.buy_order)
    )
    # The counterparty's order id is shown only inside the same broker (DESIGN.md §12 isolation).
    match_order_id = other.pk if other.organization_id == mine.organization_id else 0
    return shapes.my_trade(trading_selectors.trade_payload(trade, mine), match_order_id=match_order_id)


class MyTradesApi(OpenApiView):
    @extend_schema(
        parameters=[
            query("symbol", str),
            query("startTime", int),
            query("endTime", int),
            query("fromId", int, False, "Trades with a smaller id, newest first"),
            query("toId", int, False, "Trades with a greater id, oldest first when alone"),
            query("limit", int, False, "Default 500; max 1000"),
            *SIGNED,
        ],
        responses=responses(ARRAY),
        summary="Account trade list (USER_DATA)",
        tags=["openapi-trade"],
    )
    def get(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        trades = trading_selectors.fills(
            user=caller.user,
            symbol_id=self.params.text("symbol", max_length=32),
            from_id=self.params.integer("fromId", minimum=0),
            to_id=self.params.integer("toId", minimum=0),
            start_ms=self.params.integer("startTime"),
            end_ms=self.params.integer("endTime"),
            limit=self.params.limit(default=500, maximum=1000),
        )
        return Response([my_trade(t, caller.user) for t in trades])
