"""Order management for staff: find orders and trades; cancel through the trading service only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.trading.models import OPEN_STATUSES, MatchCommand, Order, SymbolMatchState, Trade
from apps.trading.services import order_cancel


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnly):
    list_display = [
        "id",
        "symbol",
        "user",
        "side",
        "type",
        "price",
        "quantity",
        "quote_amount",
        "executed_quantity",
        "status",
        "reason",
        "created_at",
    ]
    list_filter = ["status", "symbol", "side", "type", "organization"]
    search_fields = ["=id", "client_order_id", "=user__uid", "user__email"]
    list_select_related = ["user", "symbol"]
    date_hierarchy = "created_at"
    actions = ["cancel_orders"]

    @admin.action(description="Cancel selected open orders", permissions=["view"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        count = 0
        for order in queryset.filter(status__in=OPEN_STATUSES).select_related("user"):
            order_cancel(user=order.user, order_id=order.pk, reason=f"staff:{request.user}")
            count += 1
        self.message_user(request, f"Cancel requested for {count} order(s)", messages.SUCCESS)


@admin.register(Trade)
class TradeAdmin(ReadOnly):
    list_display = [
        "id",
        "symbol",
        "price",
        "quantity",
        "quote_quantity",
        "buyer",
        "seller",
        "buyer_is_maker",
        "created_at",
    ]
    list_filter = ["symbol"]
    search_fields = ["=id", "=buy_order__id", "=sell_order__id", "=buyer__uid", "=seller__uid"]
    list_select_related = ["buyer", "seller", "symbol"]
    date_hierarchy = "created_at"


@admin.register(MatchCommand)
class MatchCommandAdmin(ReadOnly):
    list_display = ["id", "symbol", "kind", "order", "reason", "created_at", "processed_at", "seq"]
    list_filter = ["symbol", "kind"]
    search_fields = ["=order__id"]


@admin.register(SymbolMatchState)
class SymbolMatchStateAdmin(ReadOnly):
    list_display = ["symbol", "seq", "last_price", "last_trade_id", "updated_at"]
