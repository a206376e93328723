"""Routes of the BHEX broker OpenAPI, mounted at ``/openapi/`` (docs/openapi.md).

Every endpoint answers at ``/openapi/v1/X`` and at ``/openapi/X``; the account endpoints also at
``/openapi/account/v1/X``; market data at ``/openapi/quote/v1/X``. Only the first spelling is in the
OpenAPI schema (the aliases pass ``schema=None``).
"""

from __future__ import annotations

from typing import Any

from django.urls import path

from apps.openapi import funding, public, streams, trading

GENERAL: list[tuple[str, Any]] = [
    ("ping", public.PingApi),
    ("time", public.TimeApi),
    ("brokerInfo", public.BrokerInfoApi),
    ("pairs", public.PairsApi),
]
ACCOUNT: list[tuple[str, Any]] = [
    ("order", trading.OrderApi),
    ("order/test", trading.OrderTestApi),
    ("openOrders", trading.OpenOrdersApi),
    ("historyOrders", trading.HistoryOrdersApi),
    ("account", trading.AccountApi),
    ("myTrades", trading.MyTradesApi),
    ("depositOrders", funding.DepositOrdersApi),
    ("withdrawalOrders", funding.WithdrawalOrdersApi),
    ("withdraw/detail", funding.WithdrawDetailApi),
    ("depositAddress", funding.DepositAddressApi),
    ("withdraw", funding.WithdrawApi),
    ("subAccount/query", funding.SubAccountsApi),
    ("transfer", funding.TransferApi),
    ("balance_flow", funding.BalanceFlowApi),
    ("userDataStream", streams.UserDataStreamApi),
]
QUOTE: list[tuple[str, Any]] = [
    ("depth", public.DepthApi),
    ("depth/merged", public.MergedDepthApi),
    ("trades", public.TradesApi),
    ("klines", public.KlinesApi),
    ("ticker/24hr", public.Ticker24hApi),
    ("ticker/price", public.TickerPriceApi),
    ("ticker/bookTicker", public.BookTickerApi),
]


def _name(route: str) -> str:
    return "openapi-" + route.replace("/", "-").replace("_", "-")


urlpatterns: list[Any] = []
for route, view in GENERAL + ACCOUNT:
    urlpatterns.append(path(f"v1/{route}", view.as_view(), name=_name(route)))
    urlpatterns.append(path(route, view.as_view(schema=None)))
for route, view in ACCOUNT:
    urlpatterns.append(path(f"account/v1/{route}", view.as_view(schema=None)))
for route, view in QUOTE:
    urlpatterns.append(path(f"quote/v1/{route}", view.as_view(), name=_name(f"quote-{route}")))
