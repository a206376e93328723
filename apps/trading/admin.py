"""Order management for staff: find orders and trades; cancel only through the trading services.

Cancels are admin actions with a required reason: "Cancel selected open orders" calls
``order_cancel`` for each order, "Cancel all resting orders of the selected orders' symbols" calls
``symbol_cancel_resting``. Both need ``backoffice.cancel_order``; the reason goes on the cancel
command (what the order reports as its reason) and into the admin log with the staff member's name.
Orders and trades themselves are read-only here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.backoffice.changelist import CsvExportMixin, DateRangeFilter, uid_filter, user_column
from apps.backoffice.roles import CANCEL_ORDER
from apps.core.errors import BrokerError
from apps.tokens.models import Symbol
from apps.trading.models import OPEN_STATUSES, MatchCommand, Order, SymbolMatchState, Trade
from apps.trading.services import order_cancel, symbol_cancel_resting


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CancelActionForm(helpers.ActionForm):
    reason = forms.CharField(required=False, label="Reason", max_length=40)


def _cancel_reason(request: HttpRequest) -> str:
    """``staff:<username>:<reason>``, cut to the 64 characters a cancel command keeps."""
    return f"staff:{request.user.get_username()}:{request.POST.get('reason', '').strip()}"[:64]


@admin.register(Order)
class OrderAdmin(CsvExportMixin, ReadOnly):
    list_display = [
        "id",
        "symbol",
        "user_link",
        "side",
        "type",
        "price",
        "quantity",
        "quote_amount",
        "executed_quantity",
        "executed_quote",
        "fee",
        "status",
        "reason",
        "created_at",
    ]
    list_filter = [
        "status",
        "symbol",
        "side",
        "type",
        "organization",
        uid_filter("user"),
        ("created_at", DateRangeFilter),
    ]
    search_fields = ["=id", "client_order_id", "=user__uid", "user__email", "user__phone"]
    search_help_text = "order id, client order id, uid (exact), email or phone"
    list_select_related = ["user", "symbol"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the orders table is large: no second COUNT(*) per page
    action_form = CancelActionForm
    actions = ["cancel_orders", "cancel_symbol_resting"]
    user_link = user_column()

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CANCEL_ORDER)

    def _reason_given(self, request: HttpRequest) -> bool:
        if request.POST.get("reason", "").strip():
            return True
        self.message_user(request, "Enter a reason for the cancel.", messages.ERROR)
        return False

    @admin.action(description="Cancel selected open orders (enter a reason)", permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        if not self._reason_given(request):
            return
        reason, count = _cancel_reason(request), 0
        for order in queryset.filter(status__in=OPEN_STATUSES).select_related("user"):
            try:
                order_cancel(user=order.user, order_id=order.pk, reason=reason)
            except BrokerError as exc:
                self.message_user(request, f"Order {order.pk}: {exc.message}", messages.ERROR)
                continue
            self.log_change(request, order, f"Cancel requested: {reason}")
            count += 1
        self.message_user(request, f"Cancel requested for {count} order(s)", messages.SUCCESS)

    @admin.action(
        description="Cancel ALL resting orders of the selected orders' symbols (enter a reason)",
        permissions=["cancel"],
    )
    def cancel_symbol_resting(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        if not self._reason_given(request):
            return
        reason = _cancel_reason(request)
        symbol_ids = sorted(set(queryset.values_list("symbol_id", flat=True)))
        for symbol in Symbol.objects.filter(pk__in=symbol_ids):
            count = symbol_cancel_resting(symbol=symbol, reason=reason)
            self.message_user(request, f"{symbol.pk}: cancel requested for {count} resting order(s)")


@admin.register(Trade)
class TradeAdmin(CsvExportMixin, ReadOnly):
    list_display = [
        "id",
        "symbol",
        "price",
        "quantity",
        "quote_quantity",
        "buyer_link",
        "seller_link",
        "buyer_is_maker",
        "buyer_fee",
        "seller_fee",
        "created_at",
    ]
    list_filter = ["symbol", uid_filter("buyer", "seller"), ("created_at", DateRangeFilter)]
    search_fields = ["=id", "=buy_order__id", "=sell_order__id", "=buyer__uid", "=seller__uid"]
    search_help_text = "trade id, order id or uid (exact)"
    list_select_related = ["buyer", "seller", "symbol"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    buyer_link = user_column("buyer", "Buyer")
    seller_link = user_column("seller", "Seller")


@admin.register(MatchCommand)
class MatchCommandAdmin(ReadOnly):
    list_display = ["id", "symbol", "kind", "order", "reason", "created_at", "processed_at", "seq"]
    list_filter = ["symbol", "kind", ("created_at", DateRangeFilter)]
    search_fields = ["=order__id", "reason"]
    show_full_result_count = False


@admin.register(SymbolMatchState)
class SymbolMatchStateAdmin(ReadOnly):
    list_display = ["symbol", "seq", "last_price", "last_trade_id", "updated_at"]
