"""Listing: tokens, chains, symbols and each organization's offering, all with history.

A symbol's status changes only through the list / pause / delist actions, which call
``symbol_set_status`` (delisting cancels the resting orders); the change form shows it read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.tokens.models import ChainNetwork, OrganizationSymbol, OrganizationToken, Symbol, SymbolStatus, Token
from apps.tokens.services import symbol_set_status


class ChainInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ChainNetwork
    extra = 0


@admin.register(Token)
class TokenAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = ["id", "name", "precision", "is_listed", "deposit_enabled", "withdraw_enabled", "min_deposit"]
    list_filter = ["is_listed", "deposit_enabled", "withdraw_enabled", "is_fiat"]
    search_fields = ["id", "name", "full_name"]
    inlines = [ChainInline]


class StatusActionForm(helpers.ActionForm):
    reason = forms.CharField(required=False, label="Reason", max_length=200)


@admin.register(Symbol)
class SymbolAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = [
        "id",
        "base",
        "quote",
        "status",
        "is_listed",
        "price_tick",
        "quantity_step",
        "min_notional",
        "maker_fee_rate",
        "taker_fee_rate",
    ]
    list_filter = ["status", "quote", "is_listed"]
    search_fields = ["id", "base__id", "quote__id"]
    action_form = StatusActionForm
    actions = ["list_symbols", "pause_symbols", "delist_symbols", "cancel_resting"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "id", "base", "quote", "status", "is_listed"] if obj is not None else readonly

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Symbol], status: str) -> None:
        note = request.POST.get("reason", "").strip()
        reason = f"admin {request.user}: {status}" + (f" ({note})" if note else "")
        for symbol in queryset:
            symbol_set_status(symbol=symbol, status=status, acting_user=request.user, reason=reason)  # type: ignore[arg-type]
        self.message_user(request, f"{queryset.count()} symbol(s) set to {status}", messages.SUCCESS)

    @admin.action(description="List (status on)", permissions=["change"])
    def list_symbols(self, request: HttpRequest, queryset: QuerySet[Symbol]) -> None:
        self._set_status(request, queryset, SymbolStatus.ON)

    @admin.action(description="Pause (keep resting orders)", permissions=["change"])
    def pause_symbols(self, request: HttpRequest, queryset: QuerySet[Symbol]) -> None:
        self._set_status(request, queryset, SymbolStatus.PAUSE)

    @admin.action(description="Delist (status off, cancel resting orders)", permissions=["change"])
    def delist_symbols(self, request: HttpRequest, queryset: QuerySet[Symbol]) -> None:
        self._set_status(request, queryset, SymbolStatus.OFF)

    @admin.action(description="Cancel all resting orders, keep trading (enter a reason)", permissions=["cancel"])
    def cancel_resting(self, request: HttpRequest, queryset: QuerySet[Symbol]) -> None:
        from apps.trading.services import symbol_cancel_resting

        note = request.POST.get("reason", "").strip()
        if not note:
            self.message_user(request, "Enter a reason for the cancel.", messages.ERROR)
            return
        reason = f"staff:{request.user.get_username()}:{note}"[:64]
        for symbol in queryset:
            count = symbol_cancel_resting(symbol=symbol, reason=reason)
            self.log_change(request, symbol, f"Canceled {count} resting order(s): {note}")
            self.message_user(request, f"{symbol.pk}: cancel requested for {count} resting order(s)")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("backoffice.cancel_order")


@admin.register(OrganizationToken)
class OrganizationTokenAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = ["organization", "token", "enabled"]
    list_filter = ["organization", "enabled"]


@admin.register(OrganizationSymbol)
class OrganizationSymbolAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = ["organization", "symbol", "enabled"]
    list_filter = ["organization", "enabled"]
