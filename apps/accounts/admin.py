"""Ledger admin: read-only. Balances change only through ledger_post, never through a form."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.accounts.models import Account, Balance, LedgerTransaction, Posting


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "user", "type", "index", "allow_negative", "created_at"]
    list_filter = ["type", "organization"]
    search_fields = ["=id", "=user__uid", "user__email"]


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    list_display = ["account", "token", "available", "hold", "lockup", "updated_at"]
    list_filter = ["token", "account__type", "account__organization"]
    search_fields = ["=account__id", "=account__user__uid", "account__user__email"]
    list_select_related = ["account", "account__user"]


class PostingInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Posting
    extra = 0
    can_delete = False
    readonly_fields = ["account", "token", "bucket", "amount", "total_after", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "organization", "reference", "memo", "created_by", "created_at"]
    list_filter = ["kind", "organization", "created_at"]
    search_fields = ["=id", "reference", "idempotency_key", "memo"]
    date_hierarchy = "created_at"
    inlines = [PostingInline]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["id", "transaction", "account", "token", "bucket", "amount", "total_after", "created_at"]
    list_filter = ["token", "bucket", "transaction__kind"]
    search_fields = ["=transaction__id", "=account__id", "=account__user__uid"]
    list_select_related = ["transaction", "account"]
