"""User API: public market data (no login)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import InvalidParameter, UnknownSymbol
from apps.core.money import fmt
from apps.market import selectors
from apps.tokens.models import Symbol
from apps.tokens.selectors import symbols_offered
from apps.users.models import Organization


class PublicApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @staticmethod
    def organization_id(request: Request) -> int:
        """Public data is shown for the default organization unless ``org_id`` is given."""
        raw = request.query_params.get("org_id")
        if raw:
            try:
                return int(raw)
            except ValueError:
                raise InvalidParameter(_("org_id must be an integer")) from None
        first = Organization.objects.order_by("pk").values_list("pk", flat=True).first()
        return first or 0

    def symbol(self, request: Request) -> Symbol:
        symbol_id = (request.query_params.get("symbol") or "").upper()
        if not symbol_id:
            raise InvalidParameter(_("symbol is required"))
        symbol = symbols_offered(organization_id=self.organization_id(request)).filter(pk=symbol_id).first()
        if symbol is None:
            raise UnknownSymbol(_("Unknown symbol: %(symbol)s") % {"symbol": symbol_id})
        return symbol

    def int_param(self, request: Request, name: str, default: int | None = None) -> int | None:
        value = request.query_params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise InvalidParameter(_("%(name)s must be an integer") % {"name": name}) from None


SYMBOL = OpenApiParameter("symbol", str, required=True)


class SymbolListApi(PublicApi):
    @extend_schema(
        responses={200: {"type": "array", "items": {"type": "object", "additionalProperties": {}}}},
        summary="Symbols with their filters and fees",
    )
    def get(self, request: Request) -> Response:
        rows: list[dict[str, Any]] = [
            {
                "symbol": s.pk,
                "base": s.base_id,
                "quote": s.quote_id,
                "status": s.status,
                "price_tick": fmt(s.price_tick),
                "quantity_step": fmt(s.quantity_step),
                "min_quantity": fmt(s.min_quantity),
                "max_quantity": fmt(s.max_quantity),
                "min_notional": fmt(s.min_notional),
                "maker_fee_rate": fmt(s.maker_fee_rate),
                "taker_fee_rate": fmt(s.taker_fee_rate),
                "merge_levels": [fmt(x) for x in s.merge_level_list()],
                "buy_enabled": s.buy_enabled,
                "sell_enabled": s.sell_enabled,
            }
            for s in symbols_offered(organization_id=self.organization_id(request))
        ]
        return Response(rows)


class TradeListApi(PublicApi):
    @extend_schema(
        parameters=[SYMBOL, OpenApiParameter("limit", int)], responses=OpenApiTypes.OBJECT, summary="Recent trades"
    )
    def get(self, request: Request) -> Response:
        trades = selectors.trades_recent(
            symbol=self.symbol(request), limit=self.int_param(request, "limit", 100) or 100
        )
        return Response(
            [
                {
                    "id": t.pk,
                    "price": fmt(t.price),
                    "qty": fmt(t.quantity),
                    "quote_qty": fmt(t.quote_quantity),
                    "time": int(t.created_at.timestamp() * 1000),
                    "buyer_is_maker": t.buyer_is_maker,
                }
                for t in trades
            ]
        )


class KlineListApi(PublicApi):
    @extend_schema(
        parameters=[
            SYMBOL,
            OpenApiParameter("interval", str, required=True),
            OpenApiParameter("start_time", int),
            OpenApiParameter("end_time", int),
            OpenApiParameter("limit", int),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="Klines: [open_time, open, high, low, close, volume, quote_volume, trades]",
    )
    def get(self, request: Request) -> Response:
        bars = selectors.klines(
            symbol=self.symbol(request),
            interval=request.query_params.get("interval", ""),
            start_ms=self.int_param(request, "start_time"),
            end_ms=self.int_param(request, "end_time"),
            limit=self.int_param(request, "limit", 500) or 500,
        )
        return Response(
            [
                [
                    k.open_time,
                    fmt(k.open),
                    fmt(k.high),
                    fmt(k.low),
                    fmt(k.close),
                    fmt(k.volume),
                    fmt(k.quote_volume),
                    k.trade_count,
                ]
                for k in bars
            ]
        )


class TickerApi(PublicApi):
    @extend_schema(
        parameters=[OpenApiParameter("symbol", str)],
        # One object for ?symbol=, otherwise a list of them.
        responses={
            200: {
                "oneOf": [
                    {"type": "object", "additionalProperties": {}},
                    {"type": "array", "items": {"type": "object", "additionalProperties": {}}},
                ]
            }
        },
        summary="24h ticker (one, or all)",
    )
    def get(self, request: Request) -> Response:
        if request.query_params.get("symbol"):
            return Response(selectors.ticker_24h(symbol=self.symbol(request)))
        return Response(
            [selectors.ticker_24h(symbol=s) for s in symbols_offered(organization_id=self.organization_id(request))]
        )


class DepthApi(PublicApi):
    @extend_schema(
        parameters=[SYMBOL, OpenApiParameter("limit", int), OpenApiParameter("merge", str)],
        responses=OpenApiTypes.OBJECT,
        summary="Order book depth with seq_id; merge = one of the symbol's merge levels",
    )
    def get(self, request: Request) -> Response:
        return Response(
            selectors.depth(
                symbol=self.symbol(request),
                limit=self.int_param(request, "limit", 100) or 100,
                merge=request.query_params.get("merge") or None,
            )
        )


class BookTickerApi(PublicApi):
    @extend_schema(parameters=[SYMBOL], responses=OpenApiTypes.OBJECT, summary="Best bid and ask")
    def get(self, request: Request) -> Response:
        return Response(selectors.book_ticker(symbol=self.symbol(request)))
