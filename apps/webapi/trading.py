"""User API: orders and fills (session cookie + CSRF)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.trading import selectors, services
from apps.trading.selectors import order_payload, trade_payload
from apps.webapi.auth import current_user
from apps.webapi.params import query_int


@extend_schema_serializer(component_name="Order")
class OrderSerializer(serializers.Serializer):  # type: ignore[type-arg]
    order_id = serializers.CharField()
    client_order_id = serializers.CharField()
    symbol = serializers.CharField()
    side = serializers.CharField()
    type = serializers.CharField()
    time_in_force = serializers.CharField()
    price = serializers.CharField()
    quantity = serializers.CharField()
    quote_amount = serializers.CharField()
    executed_quantity = serializers.CharField()
    executed_quote = serializers.CharField()
    leaves_quantity = serializers.CharField()
    fee = serializers.CharField()
    fee_token = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.IntegerField()
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="Fill")
class FillSerializer(serializers.Serializer):  # type: ignore[type-arg]
    trade_id = serializers.CharField()
    order_id = serializers.CharField()
    client_order_id = serializers.CharField()
    symbol = serializers.CharField()
    side = serializers.CharField()
    price = serializers.CharField()
    quantity = serializers.CharField()
    quote_quantity = serializers.CharField()
    fee = serializers.CharField()
    fee_token = serializers.CharField()
    is_maker = serializers.BooleanField()
    time = serializers.IntegerField()


class OrderPlaceApi(APIView):
    @extend_schema_serializer(component_name="OrderPlaceInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        symbol = serializers.CharField()
        side = serializers.ChoiceField(choices=["buy", "sell"])
        type = serializers.ChoiceField(choices=["limit", "market", "limit_maker"])
        quantity = serializers.CharField(required=False, help_text="Base quantity (limit orders, market sells)")
        price = serializers.CharField(required=False)
        quote_amount = serializers.CharField(required=False, help_text="Quote to spend (market buys)")
        time_in_force = serializers.ChoiceField(choices=["gtc", "ioc", "fok"], required=False)
        stp = serializers.ChoiceField(choices=["dc", "co", "cn", "cb"], required=False)
        client_order_id = serializers.CharField(required=False, max_length=64)

    @extend_schema(
        request=InputSerializer,
        responses={200: OrderSerializer, 201: OrderSerializer},
        summary="Place an order (a repeated client_order_id returns the first order with 200)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_place(
            user=current_user(request),
            symbol_id=data.validated_data["symbol"],
            **{k: v for k, v in data.validated_data.items() if k != "symbol"},
        )
        return Response(order_payload(order), status=201 if getattr(order, "created", True) else 200)


class OrderDetailApi(APIView):
    @extend_schema(responses=OrderSerializer, summary="One order by id")
    def get(self, request: Request, order_id: int) -> Response:
        return Response(order_payload(services.order_get(user=current_user(request), order_id=order_id)))

    @extend_schema(request=None, responses=OrderSerializer, summary="Cancel an order (asynchronous; idempotent)")
    def delete(self, request: Request, order_id: int) -> Response:
        return Response(order_payload(services.order_cancel(user=current_user(request), order_id=order_id)))


class OrderByClientIdApi(APIView):
    @extend_schema(responses=OrderSerializer, summary="One order by client order id")
    def get(self, request: Request, client_order_id: str) -> Response:
        order = services.order_get(user=current_user(request), client_order_id=client_order_id)
        return Response(order_payload(order))

    @extend_schema(request=None, responses=OrderSerializer, summary="Cancel an order by client order id")
    def delete(self, request: Request, client_order_id: str) -> Response:
        order = services.order_cancel(user=current_user(request), client_order_id=client_order_id)
        return Response(order_payload(order))


class OrderCancelAllApi(APIView):
    @extend_schema_serializer(component_name="CancelAllInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        symbol = serializers.CharField(required=False)

    @extend_schema_serializer(component_name="CancelAllResult")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        requested = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Cancel all open orders (async)")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = services.order_cancel_all(user=current_user(request), symbol_id=data.validated_data.get("symbol"))
        return Response({"requested": count})


_LIST_PARAMS = [
    OpenApiParameter("symbol", str),
    OpenApiParameter("from_id", int),
    OpenApiParameter("to_id", int),
    OpenApiParameter("limit", int),
    OpenApiParameter("start_time", int, description="ms"),
    OpenApiParameter("end_time", int, description="ms"),
]


def _list_args(request: Request) -> dict[str, Any]:
    return {
        "symbol_id": request.query_params.get("symbol") or None,
        "from_id": query_int(request, "from_id"),
        "to_id": query_int(request, "to_id"),
        "limit": query_int(request, "limit"),
        "start_ms": query_int(request, "start_time"),
        "end_ms": query_int(request, "end_time"),
    }


class OpenOrderListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("symbol", str), OpenApiParameter("limit", int)],
        responses=OrderSerializer(many=True),
        summary="Open orders (pending, new, partially filled)",
    )
    def get(self, request: Request) -> Response:
        orders = selectors.orders_open(
            user=current_user(request),
            symbol_id=request.query_params.get("symbol") or None,
            limit=query_int(request, "limit"),
        )
        return Response([order_payload(o) for o in orders])


class OrderHistoryApi(APIView):
    @extend_schema(parameters=_LIST_PARAMS, responses=OrderSerializer(many=True), summary="Finished orders")
    def get(self, request: Request) -> Response:
        orders = selectors.orders_history(user=current_user(request), **_list_args(request))
        return Response([order_payload(o) for o in orders])


class FillListApi(APIView):
    @extend_schema(
        parameters=[*_LIST_PARAMS, OpenApiParameter("order_id", int)],
        responses=FillSerializer(many=True),
        summary="The user's fills",
    )
    def get(self, request: Request) -> Response:
        user = current_user(request)
        trades = selectors.fills(user=user, order_id=query_int(request, "order_id"), **_list_args(request))
        return Response([trade_payload(t, t.buy_order if t.buyer_id == user.pk else t.sell_order) for t in trades])
