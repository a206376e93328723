"""BGE API public endpoints (no signature; counted per client IP): products, currencies and the
``/public/v2`` market data, whose bodies are wrapped as ``{"code": 200, "data": …, "message": "OK"}``.

Public data is shown for the default organization (the first active one) unless ``org_id`` names
another.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.bgeapi import errors
from apps.bgeapi.base import BgeView
from apps.bgeapi.shapes import (
    candle_interval,
    candle_shape,
    currency_shape,
    orderbook_level,
    orderbook_shape,
    product_name,
    product_shape,
    product_symbol,
    public_trade_shape,
    ticker_shape,
)
from apps.core.errors import UnknownToken
from apps.market import selectors as market
from apps.tokens.models import Symbol
from apps.tokens.selectors import symbols_offered, tokens_offered
from apps.users.selectors import organization_resolve

ORG = OpenApiParameter("org_id", int, description="organization (default: the first)")
# products and currencies answer JSON arrays (a one-element array for a single one, as seed 004 shows)
OBJECT_LIST: dict[str, Any] = {"type": "array", "items": {"type": "object", "additionalProperties": {}}}
CANDLES_MAX = 1000
TRADES_MAX = 1000


def ok(data: Any) -> Response:
    return Response({"code": 200, "data": data, "message": "OK"})


class PublicApi(BgeView):
    def organization_id(self, request: Request) -> int:
        return organization_resolve(organization_id=self.query_int(request, "org_id")).pk

    def symbol(self, request: Request, product: str) -> Symbol:
        return product_symbol(organization_id=self.organization_id(request), product=product)


# --- /v1 reference data -------------------------------------------------------------------------
class ProductListApi(PublicApi):
    @extend_schema(
        operation_id="bge_products_list",
        parameters=[ORG],
        responses={200: OBJECT_LIST},
        summary="Every product",
    )
    def get(self, request: Request) -> Response:
        symbols = symbols_offered(organization_id=self.organization_id(request))
        return Response([product_shape(s) for s in symbols])


class ProductDetailApi(PublicApi):
    @extend_schema(
        parameters=[ORG], responses={200: OBJECT_LIST}, summary="One product (a one-element list, as the seed)"
    )
    def get(self, request: Request, product: str) -> Response:
        return Response([product_shape(self.symbol(request, product))])


class CurrencyListApi(PublicApi):
    error_context = errors.CURRENCY

    @extend_schema(
        operation_id="bge_currencies_list",
        parameters=[ORG],
        responses={200: OBJECT_LIST},
        summary="Every currency",
    )
    def get(self, request: Request) -> Response:
        tokens = tokens_offered(organization_id=self.organization_id(request)).prefetch_related("chains")
        return Response([currency_shape(t, list(t.chains.all())) for t in tokens])


class CurrencyDetailApi(PublicApi):
    error_context = errors.CURRENCY

    @extend_schema(
        parameters=[ORG], responses={200: OBJECT_LIST}, summary="One currency (a one-element list, as the seed)"
    )
    def get(self, request: Request, currency: str) -> Response:
        offered = tokens_offered(organization_id=self.organization_id(request)).prefetch_related("chains")
        token = offered.filter(pk=currency.strip().upper()).first()
        if token is None:
            raise UnknownToken(f"Unknown currency: {currency}")
        return Response([currency_shape(token, list(token.chains.all()))])


# --- /public/v2 market data -----------------------------------------------------------------------
class CandleListApi(PublicApi):
    @extend_schema(
        parameters=[
            ORG,
            OpenApiParameter("interval", str, description="1min 5min 15min 30min 60min 4hour 1day 1week 1mon"),
            OpenApiParameter("from", int, description="unix seconds"),
            OpenApiParameter("to", int, description="unix seconds"),
            OpenApiParameter("size", int, description="default 500, at most 1000"),
        ],
        responses={200: OpenApiTypes.OBJECT},
        summary="Candles, oldest first",
    )
    def get(self, request: Request, product: str) -> Response:
        symbol = self.symbol(request, product)
        interval = candle_interval(request.query_params.get("interval"))
        size = self.query_int(request, "size")
        size = 500 if size is None else size
        if not 1 <= size <= CANDLES_MAX:
            raise errors.BgeError(1001, f"size must be between 1 and {CANDLES_MAX}")
        start, end = self.query_int(request, "from"), self.query_int(request, "to")
        bars = market.klines(
            symbol=symbol,
            interval=interval,
            start_ms=start * 1000 if start is not None else None,
            end_ms=end * 1000 if end is not None else None,
            limit=size,
        )
        return ok([candle_shape(k) for k in bars])


class OrderbookApi(PublicApi):
    @extend_schema(
        parameters=[ORG, OpenApiParameter("interval", int, description="0 (every price) … 11: tick × 10^interval")],
        responses={200: OpenApiTypes.OBJECT},
        summary="Order book with seq_id",
    )
    def get(self, request: Request, product: str) -> Response:
        symbol = self.symbol(request, product)
        level = orderbook_level(request.query_params.get("interval"))
        snapshot = market.depth_snapshot(symbol=symbol)
        return ok(orderbook_shape(snapshot, price_tick=symbol.price_tick, level=level))


def _ticker(symbol: Symbol) -> dict[str, Any]:
    seq_id = market.depth_snapshot(symbol=symbol)["seq_id"]
    return ticker_shape(market.ticker_24h(symbol=symbol), product=product_name(symbol), seq_id=seq_id)


class TickerListApi(PublicApi):
    @extend_schema(parameters=[ORG], responses={200: OpenApiTypes.OBJECT}, summary="24h tickers of every product")
    def get(self, request: Request) -> Response:
        return ok([_ticker(s) for s in symbols_offered(organization_id=self.organization_id(request))])


class TickerApi(PublicApi):
    @extend_schema(parameters=[ORG], responses={200: OpenApiTypes.OBJECT}, summary="24h ticker of one product")
    def get(self, request: Request, product: str) -> Response:
        return ok(_ticker(self.symbol(request, product)))


class TradeListApi(PublicApi):
    @extend_schema(
        parameters=[ORG, OpenApiParameter("size", int, description="default 500, at most 1000")],
        responses={200: OpenApiTypes.OBJECT},
        summary="Recent trades, newest first",
    )
    def get(self, request: Request, product: str) -> Response:
        symbol = self.symbol(request, product)
        size = self.query_int(request, "size")
        size = 500 if size is None else size
        if not 1 <= size <= TRADES_MAX:
            raise errors.BgeError(1001, f"size must be between 1 and {TRADES_MAX}")
        trades = market.trades_recent(symbol=symbol, limit=size)
        return ok([public_trade_shape(t) for t in reversed(trades)])
