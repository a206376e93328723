"""Public endpoints: general (ping, time, brokerInfo, pairs) and market data (/openapi/quote/v1/…)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.money import ZERO, fmt
from apps.market import selectors as market
from apps.market.models import INTERVALS
from apps.openapi import shapes
from apps.openapi.auth import rate_limits
from apps.openapi.base import ARRAY, OBJECT, OpenApiView, one_or_many, query, responses
from apps.openapi.errors import OpenApiError, invalid, mandatory
from apps.tokens.models import Symbol
from apps.tokens.selectors import symbols_offered
from apps.trading.services import last_price

SYMBOL = query("symbol", str, True)
OPTIONAL_SYMBOL = query("symbol", str, False, "One symbol; all symbols when absent")


def now_ms() -> int:
    return int(time.time() * 1000)


class PublicView(OpenApiView):
    def symbols(self, request: Request) -> Any:
        return symbols_offered(organization_id=self.organization_id(request))

    def symbol(self, request: Request, *, required: bool = True) -> Symbol | None:
        symbol_id = self.params.text("symbol", max_length=32)
        if symbol_id is None:
            if required:
                raise mandatory("symbol")
            return None
        symbol = self.symbols(request).filter(pk=symbol_id.upper()).first()
        if symbol is None:
            raise OpenApiError(-1121, "Invalid symbol.")
        return symbol

    def required_symbol(self, request: Request) -> Symbol:
        symbol = self.symbol(request)
        assert symbol is not None
        return symbol


# --- general -------------------------------------------------------------------------------------
class PingApi(PublicView):
    weight = 0

    @extend_schema(responses=responses(OBJECT), summary="Test connectivity", tags=["openapi"])
    def get(self, request: Request) -> Response:
        return Response({})


class TimeApi(PublicView):
    weight = 0

    @extend_schema(
        responses=responses({"type": "object", "properties": {"serverTime": {"type": "integer"}}}),
        summary="Server time in milliseconds",
        tags=["openapi"],
    )
    def get(self, request: Request) -> Response:
        return Response({"serverTime": now_ms()})


class BrokerInfoApi(PublicView):
    weight = 0

    @extend_schema(responses=responses(OBJECT), summary="Trading rules, symbols and rate limits", tags=["openapi"])
    def get(self, request: Request) -> Response:
        self.throttle(request)
        return Response(
            {
                "timezone": "UTC",
                "serverTime": now_ms(),
                "rateLimits": rate_limits(),
                "brokerFilters": [],
                "symbols": [shapes.symbol_info(s) for s in self.symbols(request)],
            }
        )


class PairsApi(PublicView):
    @extend_schema(responses=responses(ARRAY), summary="Spot trading pairs", tags=["openapi"])
    def get(self, request: Request) -> Response:
        self.throttle(request)
        return Response([shapes.pair(s) for s in self.symbols(request)])


# --- market data ---------------------------------------------------------------------------------
DEPTH_MAX = 100


def _depth_body(depth: dict[str, Any]) -> dict[str, Any]:
    return {"bids": depth["bids"], "asks": depth["asks"]}


def _depth_limit(view: OpenApiView) -> int:
    limit = view.params.integer("limit")
    if limit is None or limit <= 0:  # "limit=0 can return a lot of data": everything we show
        return DEPTH_MAX
    return min(limit, DEPTH_MAX)


class DepthApi(PublicView):
    @extend_schema(
        parameters=[SYMBOL, query("limit", int, False, "Default 100; max 100")],
        responses=responses(OBJECT),
        summary="Order book",
        tags=["openapi-quote"],
    )
    def get(self, request: Request) -> Response:
        self.throttle(request)
        symbol = self.required_symbol(request)
        return Response(_depth_body(market.depth(symbol=symbol, limit=_depth_limit(self))))


class MergedDepthApi(PublicView):
    @extend_schema(
        parameters=[
            SYMBOL,
            query("limit", int, False, "Default 100; max 100"),
            query("scale", int, False, "Decimal places of the merged price step, one of the symbol's merge levels"),
        ],
        responses=responses(OBJECT),
        summary="Order book with price levels merged",
        tags=["openapi-quote"],
    )
    def get(self, request: Request) -> Response:
        self.throttle(request)
        symbol = self.required_symbol(request)
        scale = self.params.integer("scale")
        if scale is None:
            scale = self.params.integer("dumpScale")
        merge: str | None = None
        if scale is not None:
            step = Decimal(1).scaleb(-scale)
            if step not in symbol.merge_level_list():
                levels = ", ".join(str(-int(x.normalize().as_tuple().exponent)) for x in symbol.merge_level_list())
                raise invalid("scale", f"One of: {levels or '(none)'}.")
            merge = fmt(step)
        return Response(_depth_body(market.depth(symbol=symbol, limit=_depth_limit(self), merge=merge)))


class TradesApi(PublicView):
    @extend_schema(
        parameters=[SYMBOL, query("limit", int, False, "Default 60; max 60")],
        responses=responses(ARRAY),
        summary="Recent trades",
        tags=["openapi-quote"],
    )
    def get(self, request: Request) -> Response:
        self.throttle(request)
        symbol = self.required_symbol(request)
        limit = self.params.limit(default=60, maximum=60)
        return Response([shapes.public_trade(t) for t in market.trades_recent(symbol=symbol, limit=limit)])


class KlinesApi(PublicView):
    @extend_schema(
        parameters=[
            SYMBOL,
            query("interval", str, True, ", ".join(INTERVALS)),
            query("startTime", int),
            query("endTime", int),
            query("limit", int, False, "Default 500; max 1000"),
        ],
        responses=responses({"type": "array", "items": {"type": "array", "items": {}}}),
        summary="Kline/candlestick bars",
        tags=["openapi-quote"],
    )
    def get(self, request: Request) -> Response:
        self.throttle(request)
        symbol = self.required_symbol(request)
        interval = self.params.text("interval")
        if interval is None:
            raise mandatory("interval")
        if interval not in INTERVALS:
            raise OpenApiError(-1120, "Invalid interval.")
        bars = market.klines(
            symbol=symbol,
            interval=interval,
            start_ms=self.params.integer("startTime"),
            end_ms=self.params.integer("endTime"),
            limit=self.params.limit(default=500, maximum=1000),
        )
        return Response([shapes.kline_row(k) for k in bars])


class Ticker24hApi(PublicView):
    @extend_schema(
        parameters=[OPTIONAL_SYMBOL],
        responses=responses(one_or_many()),
        summary="24 hour price change statistics",
        tags=["openapi-quote"],
    )
    def get(self, request: Request) -> Response:
        symbol = self.symbol(request, required=False)
        self.throttle(request, 1 if symbol is not None else 40)
        if symbol is not None:
            ticker = market.ticker_24h(symbol=symbol)
            return Response(
                {
                    "time": ticker["time"],
                    "symbol": symbol.pk,
                    "bestBidPrice": ticker["best_bid"],
                    "bestAskPrice": ticker["best_ask"],
                    "lastPrice": ticker["last"],
                    "openPrice": ticker["open"],
                    "highPrice": ticker["high"],
                    "lowPrice": ticker["low"],
                    "volume": ticker["volume"],
                }
            )
        rows = []
        for each in self.symbols(request):
            ticker = market.ticker_24h(symbol=each)
            rows.append(
                {
                    "time": ticker["time"],
                    "symbol": each.pk,
                    "lastPrice": ticker["last"],
                    "openPrice": ticker["open"],
                    "highPrice": ticker["high"],
                    "lowPrice": ticker["low"],
                    "volume": ticker["volume"],
                }
            )
        return Response(rows)


class TickerPriceApi(PublicView):
    @extend_schema(
        parameters=[OPTIONAL_SYMBOL], responses=responses(one_or_many()), summary="Latest price", tags=["openapi-quote"]
    )
    def get(self, request: Request) -> Response:
        self.throttle(request)
        symbol = self.symbol(request, required=False)
        if symbol is not None:
            return Response({"price": fmt(last_price(symbol) or ZERO)})
        return Response([{"symbol": s.pk, "price": fmt(last_price(s) or ZERO)} for s in self.symbols(request)])


class BookTickerApi(PublicView):
    @extend_schema(
        parameters=[OPTIONAL_SYMBOL],
        responses=responses(one_or_many()),
        summary="Best price and quantity on the book",
        tags=["openapi-quote"],
    )
    def get(self, request: Request) -> Response:
        self.throttle(request)
        symbol = self.symbol(request, required=False)
        symbols = [symbol] if symbol is not None else list(self.symbols(request))
        rows = []
        for each in symbols:
            book = market.book_ticker(symbol=each)
            rows.append(
                {
                    "symbol": each.pk,
                    "bidPrice": book["bid_price"],
                    "bidQty": book["bid_qty"],
                    "askPrice": book["ask_price"],
                    "askQty": book["ask_qty"],
                }
            )
        return Response(rows[0] if symbol is not None else rows)
