from django.urls import path

from apps.webapi import market, trading, views

urlpatterns = [
    path("time", views.ServerTimeApi.as_view(), name="webapi-time"),
    path("account/balances", views.BalanceListApi.as_view(), name="webapi-balances"),
    path("orders", trading.OrderPlaceApi.as_view(), name="webapi-order-place"),
    path("orders/open", trading.OpenOrderListApi.as_view(), name="webapi-orders-open"),
    path("orders/history", trading.OrderHistoryApi.as_view(), name="webapi-orders-history"),
    path("orders/cancel-all", trading.OrderCancelAllApi.as_view(), name="webapi-orders-cancel-all"),
    path("orders/<int:order_id>", trading.OrderDetailApi.as_view(), name="webapi-order"),
    path("orders/client/<str:client_order_id>", trading.OrderByClientIdApi.as_view(), name="webapi-order-client"),
    path("fills", trading.FillListApi.as_view(), name="webapi-fills"),
    path("market/symbols", market.SymbolListApi.as_view(), name="webapi-symbols"),
    path("market/trades", market.TradeListApi.as_view(), name="webapi-trades"),
    path("market/klines", market.KlineListApi.as_view(), name="webapi-klines"),
    path("market/ticker", market.TickerApi.as_view(), name="webapi-ticker"),
    path("market/depth", market.DepthApi.as_view(), name="webapi-depth"),
    path("market/book-ticker", market.BookTickerApi.as_view(), name="webapi-book-ticker"),
]
