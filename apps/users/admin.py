from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from apps.users.models import Organization, User, UserFreeze


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = ["id", "name", "is_active", "allow_internal_transfer", "trading_kyc_level", "created_at"]
    search_fields = ["name"]


class FreezeInline(admin.TabularInline):  # type: ignore[type-arg]
    model = UserFreeze
    fk_name = "user"
    extra = 0
    fields = ["kind", "symbol", "token", "reason", "is_active", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "uid", "email", "phone", "organization", "kyc_level", "is_staff", "date_joined"]
    list_filter = ["organization", "kyc_level", "is_staff", "is_active"]
    search_fields = ["=uid", "email", "phone", "username"]
    readonly_fields = ["uid", "last_login", "date_joined"]
    inlines = [FreezeInline]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        ("Broker", {"fields": ("uid", "organization", "phone", "kyc_level", "language")}),
    )


@admin.register(UserFreeze)
class UserFreezeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "kind", "symbol", "token", "reason", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["=user__uid", "user__email", "reason"]
    raw_id_fields = ["user"]
