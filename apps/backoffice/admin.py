"""Back-office admin pages: the daily statistics tables and the log of staff actions (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.http import HttpRequest

from apps.backoffice.changelist import CsvExportMixin, DateRangeFilter
from apps.backoffice.models import DailySymbolStatistics, DailyTokenStatistics, DailyUserStatistics


class ReadOnlyAdmin(CsvExportMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DailyUserStatistics)
class DailyUserStatisticsAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "organization",
        "registrations",
        "logins",
        "login_users",
        "kyc_submitted",
        "kyc_approved",
        "kyc_rejected",
        "updated_at",
    ]
    list_filter = ["organization", ("day", DateRangeFilter)]
    date_hierarchy = "day"


@admin.register(DailyTokenStatistics)
class DailyTokenStatisticsAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "organization",
        "token",
        "holders",
        "holdings",
        "deposit_count",
        "deposit_amount",
        "withdrawal_count",
        "withdrawal_amount",
        "deposit_total",
        "withdrawal_total",
    ]
    list_filter = ["token", "organization", ("day", DateRangeFilter)]
    date_hierarchy = "day"


@admin.register(DailySymbolStatistics)
class DailySymbolStatisticsAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "organization",
        "symbol",
        "order_count",
        "order_quantity",
        "cancel_count",
        "cancel_quantity",
        "trade_count",
        "trade_quantity",
        "trade_amount",
        "fee_base",
        "fee_quote",
    ]
    list_filter = ["symbol", "organization", ("day", DateRangeFilter)]
    date_hierarchy = "day"


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    """Every add, change, delete and logged action staff made in the admin (Django's admin log)."""

    list_display = ["action_time", "user", "content_type", "object_repr", "action_flag", "change_message"]
    list_filter = ["action_flag", "content_type", ("action_time", DateRangeFilter)]
    search_fields = ["object_repr", "change_message", "user__username", "=object_id"]
    list_select_related = ["user", "content_type"]
    date_hierarchy = "action_time"
