from __future__ import annotations

from django.contrib import admin, messages
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


@admin.register(Symbol)
class SymbolAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = ["id", "base", "quote", "status", "price_tick", "quantity_step", "min_notional", "taker_fee_rate"]
    list_filter = ["status", "quote", "is_listed"]
    search_fields = ["id"]
    actions = ["list_symbols", "pause_symbols", "delist_symbols"]

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Symbol], status: str) -> None:
        for symbol in queryset:
            symbol_set_status(symbol=symbol, status=status, acting_user=request.user, reason=f"admin: {status}")  # type: ignore[arg-type]
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


@admin.register(OrganizationToken)
class OrganizationTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["organization", "token", "enabled"]
    list_filter = ["organization", "enabled"]


@admin.register(OrganizationSymbol)
class OrganizationSymbolAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["organization", "symbol", "enabled"]
    list_filter = ["organization", "enabled"]
