"""Seed 001 §3.4: trading as a user of the organization (spot), and trading freezes."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidParameter, OrderNotFound
from apps.orgapi.base import (
    LIST_POLL,
    OBJECT,
    SIGNED,
    OrgApiView,
    PageFields,
    RangeFields,
    UidInput,
    UidWriteInput,
    listing,
    responses,
)
from apps.orgapi.shapes import OrderSerializer, TradeSerializer, order_object, trade_object
from apps.orgapi.views.user import DEFAULT_REASON, freeze_set
from apps.trading.selectors import fills, orders_history, orders_open
from apps.trading.services import order_cancel, order_place
from apps.users.models import FreezeKind

TAG = ["orgapi: trade"]


class TradeFreezeApi(OrgApiView):
    operation = "trade/frozenUser"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiTradeFreezeInput")
    class InputSerializer(UidWriteInput):
        symbol_id = serializers.CharField(required=False, default="", allow_blank=True, help_text="Empty: all")
        frozen = serializers.BooleanField(help_text="true freezes, false lifts the freeze")
        reason = serializers.CharField(required=False, default=DEFAULT_REASON, max_length=255)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Freeze or unfreeze the user's trading on one symbol (or on all)",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        symbol_id = data["symbol_id"].upper() or None
        frozen = freeze_set(
            user=user, kind=FreezeKind.TRADE, frozen=data["frozen"], reason=data["reason"], symbol_id=symbol_id
        )
        return {"uid": str(user.uid), "freeze_type": FreezeKind.TRADE, "symbol_id": symbol_id or "", "frozen": frozen}


class CreateOrderApi(OrgApiView):
    operation = "trade/spot/createOrder"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiCreateOrderInput")
    class InputSerializer(UidWriteInput):
        symbol_id = serializers.CharField()
        side = serializers.CharField(help_text="BUY or SELL")
        type = serializers.CharField(help_text="LIMIT, MARKET or LIMIT_MAKER")
        price = serializers.CharField(required=False, help_text="Limit orders")
        quantity = serializers.CharField(required=False, help_text="Base quantity (limit orders, market sells)")
        amount = serializers.CharField(required=False, help_text="Quote to spend (market buys)")
        time_in_force = serializers.CharField(
            required=False, help_text="GTC (limit default), IOC (market default), FOK"
        )

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OrderSerializer),
        tags=TAG,
        summary="Place a spot order as the user; client_order_id is also the order's client id",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        order = order_place(
            user=user,
            symbol_id=data["symbol_id"],
            side=data["side"].lower(),
            type=data["type"].lower(),
            price=data.get("price"),
            quantity=data.get("quantity"),
            quote_amount=data.get("amount"),
            time_in_force=(data.get("time_in_force") or "").lower() or None,
            client_order_id=data["client_order_id"],
        )
        return order_object(order, uid=user.uid)


class CancelOrderApi(OrgApiView):
    operation = "trade/spot/cancelOrder"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiCancelOrderInput")
    class InputSerializer(UidWriteInput):
        order_id = serializers.IntegerField(required=False, min_value=1)
        order_client_order_id = serializers.CharField(required=False, help_text="The order's own client id")

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OrderSerializer),
        tags=TAG,
        summary="Cancel one of the user's orders (by order_id or order_client_order_id)",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        if not data.get("order_id") and not data.get("order_client_order_id"):
            raise InvalidParameter(_("order_id or order_client_order_id is required"))
        try:
            order = order_cancel(
                user=user, order_id=data.get("order_id"), client_order_id=data.get("order_client_order_id")
            )
        except OrderNotFound:
            raise self.foreign_order(data.get("order_id")) from None
        return order_object(order, uid=user.uid)


class OpenOrderListApi(OrgApiView):
    operation = "trade/spot/getOpenOrderList"
    poll_limit = LIST_POLL

    @extend_schema_serializer(component_name="OrgApiOpenOrderListInput")
    class InputSerializer(UidInput):
        symbol_id = serializers.CharField(required=False, default="", allow_blank=True)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=500)
        list_type = serializers.ChoiceField(choices=["simple", "full"], required=False, default="full")

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OrderSerializer(many=True)),
        tags=TAG,
        summary="The user's open orders, newest first",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        rows = orders_open(user=user, symbol_id=data["symbol_id"] or None, limit=data["limit"])
        return listing(rows, data["list_type"], full=lambda o: order_object(o, uid=user.uid), simple=lambda o: o.pk)


class HistoryOrderListApi(OrgApiView):
    operation = "trade/spot/getHistoryOrderList"
    poll_limit = LIST_POLL

    @extend_schema_serializer(component_name="OrgApiHistoryOrderListInput")
    class InputSerializer(UidInput, PageFields, RangeFields):
        symbol_id = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OrderSerializer(many=True)),
        tags=TAG,
        summary="The user's finished orders (filled, canceled, rejected)",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        start, end = self.window(data)
        user = self.user(data["uid"])
        rows = orders_history(
            user=user,
            symbol_id=data["symbol_id"] or None,
            from_id=data.get("from_id"),
            to_id=data.get("to_id"),
            limit=data["limit"],
            start_ms=start,
            end_ms=end,
        )
        return listing(rows, data["list_type"], full=lambda o: order_object(o, uid=user.uid), simple=lambda o: o.pk)


class TradeDetailListApi(OrgApiView):
    operation = "trade/spot/getTradeDetailList"
    poll_limit = LIST_POLL

    @extend_schema_serializer(component_name="OrgApiTradeDetailListInput")
    class InputSerializer(UidInput, PageFields, RangeFields):
        symbol_id = serializers.CharField(required=False, default="", allow_blank=True)
        order_id = serializers.IntegerField(required=False, min_value=1)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(TradeSerializer(many=True)),
        tags=TAG,
        summary="The user's fills; match_order_id only when the counterparty is of this organization",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        start, end = self.window(data)
        user = self.user(data["uid"])
        rows = fills(
            user=user,
            symbol_id=data["symbol_id"] or None,
            order_id=data.get("order_id"),
            from_id=data.get("from_id"),
            to_id=data.get("to_id"),
            limit=data["limit"],
            start_ms=start,
            end_ms=end,
        )
        return listing(
            rows,
            data["list_type"],
            full=lambda t: trade_object(t, user=user, organization_id=self.organization.pk),
            simple=lambda t: t.pk,
        )
