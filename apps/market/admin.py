from django.contrib import admin

from apps.market.models import Kline


@admin.register(Kline)
class KlineAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["symbol", "interval", "open_time", "open", "high", "low", "close", "volume", "trade_count"]
    list_filter = ["symbol", "interval"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
