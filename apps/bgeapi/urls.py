"""BGE API routes (seed 004), mounted at the site root: ``/v1/...`` and ``/public/v2/...``."""

from __future__ import annotations

from django.urls import path

from apps.bgeapi import private, public

urlpatterns = [
    # accounts and transfers (signed)
    path("v1/accounts", private.AccountListApi.as_view(), name="bge-accounts"),
    path("v1/accounts/<str:currency>", private.AccountDetailApi.as_view(), name="bge-account"),
    path("v1/deposits/account", private.FundingToTradingApi.as_view(), name="bge-funding-to-trading"),
    path("v1/withdrawals/account", private.TradingToFundingApi.as_view(), name="bge-trading-to-funding"),
    # reference data (public)
    path("v1/products", public.ProductListApi.as_view(), name="bge-products"),
    path("v1/products/<str:product>", public.ProductDetailApi.as_view(), name="bge-product"),
    path("v1/currencies", public.CurrencyListApi.as_view(), name="bge-currencies"),
    path("v1/currencies/<str:currency>", public.CurrencyDetailApi.as_view(), name="bge-currency"),
    # orders and fills (signed)
    path("v1/orders", private.OrderListCreateCancelApi.as_view(), name="bge-orders"),
    path("v1/orders/single/<str:client_oid>", private.OrderByClientOidApi.as_view(), name="bge-order-client"),
    path("v1/orders/<str:order_id>", private.OrderDetailApi.as_view(), name="bge-order"),
    path("v1/fills", private.FillListApi.as_view(), name="bge-fills"),
    # market data v2 (public)
    path("public/v2/products/overview/tickers", public.TickerListApi.as_view(), name="bge-tickers"),
    path("public/v2/products/<str:product>/candles", public.CandleListApi.as_view(), name="bge-candles"),
    path("public/v2/products/<str:product>/orderbook", public.OrderbookApi.as_view(), name="bge-orderbook"),
    path("public/v2/products/<str:product>/ticker", public.TickerApi.as_view(), name="bge-ticker"),
    path("public/v2/products/<str:product>/trades", public.TradeListApi.as_view(), name="bge-trades"),
]
