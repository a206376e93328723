"""Staff pages for organizations and users.

Freezes and 2FA resets go through services (``user_freeze``, ``user_freeze_lift``, ``totp_reset``),
which require a reason and write a ``SecurityRecord`` naming the staff member; the reason is typed
into the action bar's "Reason" box. A user's page links to their accounts, balances, orders,
trades, deposits, withdrawals and KYC applications (each list filtered by ``?uid=``); edits of users,
organizations and freezes are kept in their history (django-simple-history).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from simple_history.admin import SimpleHistoryAdmin

from apps.backoffice.changelist import (
    CsvExportMixin,
    DateRangeFilter,
    uid_filter,
    user_column,
    user_record_links,
)
from apps.core.errors import BrokerError
from apps.users.models import LoginRecord, Organization, SecurityRecord, User, UserFreeze
from apps.users.security import totp_reset
from apps.users.services import user_freeze, user_freeze_lift


class ReasonActionForm(helpers.ActionForm):
    reason = forms.CharField(required=False, label="Reason", max_length=255)


def _acting(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    """Organizations hold withdrawal thresholds: only superusers change them (no role has the permission)."""

    list_display = ["id", "name", "is_active", "allow_internal_transfer", "trading_kyc_level", "created_at"]
    search_fields = ["name"]


class FreezeInline(admin.TabularInline):  # type: ignore[type-arg]
    """Read-only here: freezes are set and lifted on the freeze pages, through the services."""

    model = UserFreeze
    fk_name = "user"
    extra = 0
    can_delete = False
    fields = ["kind", "symbol", "token", "reason", "is_active", "created_by", "created_at", "lifted_by", "lift_reason"]
    readonly_fields = [
        "kind",
        "symbol",
        "token",
        "reason",
        "is_active",
        "created_by",
        "created_at",
        "lifted_by",
        "lift_reason",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LoginRecordInline(admin.TabularInline):  # type: ignore[type-arg]
    model = LoginRecord
    extra = 0
    can_delete = False
    fields = ["created_at", "result", "ip", "user_agent"]
    readonly_fields = ["created_at", "result", "ip", "user_agent"]
    ordering = ["-id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[LoginRecord]:
        return super().get_queryset(request).order_by("-id")


class SecurityRecordInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SecurityRecord
    fk_name = "user"
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "acting_user", "detail"]
    readonly_fields = ["created_at", "action", "acting_user", "detail"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(CsvExportMixin, SimpleHistoryAdmin, DjangoUserAdmin):  # type: ignore[misc]
    list_display = ["username", "uid", "email", "phone", "organization", "kyc_level", "is_staff", "date_joined"]
    list_filter = ["organization", "kyc_level", "is_staff", "is_active", "groups", ("date_joined", DateRangeFilter)]
    search_fields = ["=uid", "email", "phone", "username", "deposit_addresses__address"]
    search_help_text = "uid (exact), email, phone, username or a deposit address"
    readonly_fields = [
        "uid",
        "last_login",
        "date_joined",
        "kyc_level",
        "invite_code",
        "invited_by",
        "records",
        "balances",
    ]
    inlines = [FreezeInline, SecurityRecordInline, LoginRecordInline]
    action_form = ReasonActionForm
    actions = ["reset_2fa"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        (
            "Broker",
            {
                "fields": (
                    "uid",
                    "organization",
                    "phone",
                    "kyc_level",
                    "language",
                    "invite_code",
                    "invited_by",
                    "records",
                    "balances",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # A deposit-address search joins many rows per user.
        return super().get_queryset(request).distinct() if request.GET.get("q") else super().get_queryset(request)

    @admin.display(description="Records")
    def records(self, obj: User) -> str:
        return user_record_links(obj)

    @admin.display(description="Balances (all accounts)")
    def balances(self, obj: User) -> str:
        from apps.accounts.models import Balance

        rows = Balance.objects.filter(account__user=obj).select_related("account").order_by("account_id", "token_id")
        return (
            format_html_join(
                "",
                "<div>{} #{} {}: available {}, hold {}, lockup {}</div>",
                ((b.account.type, b.account.index, b.token_id, b.available, b.hold, b.lockup) for b in rows),
            )
            or "—"
        )

    @admin.action(description="Reset 2FA (remove Google Authenticator; enter a reason)", permissions=["change"])
    def reset_2fa(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        reason = request.POST.get("reason", "")
        for user in queryset:
            try:
                totp_reset(user=user, acting_user=_acting(request), reason=reason)
            except BrokerError as exc:
                self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
                return
        self.message_user(request, f"Reset 2FA of {queryset.count()} user(s).")


class FreezeForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = UserFreeze
        fields = ["user", "kind", "symbol", "token", "reason"]


@admin.register(UserFreeze)
class UserFreezeAdmin(CsvExportMixin, SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = [
        "id",
        "user_link",
        "kind",
        "symbol",
        "token",
        "reason",
        "is_active",
        "created_by",
        "created_at",
        "lifted_by",
    ]
    list_filter = ["kind", "is_active", uid_filter("user"), ("created_at", DateRangeFilter)]
    search_fields = ["=user__uid", "user__email", "user__phone", "reason"]
    list_select_related = ["user", "created_by", "lifted_by"]
    user_link = user_column()
    raw_id_fields = ["user"]
    form = FreezeForm
    action_form = ReasonActionForm
    actions = ["lift_selected"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: UserFreeze, form: Any, change: bool) -> None:
        created = user_freeze(
            user=obj.user,
            kind=obj.kind,
            reason=obj.reason,
            acting_user=_acting(request),
            symbol_id=obj.symbol_id,
            token_id=obj.token_id,
        )
        obj.pk = created.pk

    @admin.action(description="Lift selected freezes (enter a reason)", permissions=["change"])
    def lift_selected(self, request: HttpRequest, queryset: QuerySet[UserFreeze]) -> None:
        reason = request.POST.get("reason", "")
        for freeze in queryset.filter(is_active=True):
            try:
                user_freeze_lift(freeze=freeze, acting_user=_acting(request), reason=reason)
            except BrokerError as exc:
                self.message_user(request, f"{freeze}: {exc.message}", messages.ERROR)
                return
        self.message_user(request, "Lifted.")
