"""Ledger and funding admin: read-only rows; money moves only through services.

Balances, postings, deposits, withdrawals and transfers have no add, change or delete permission
here for anyone (superusers included): balances change only through ``ledger_post``, and staff act
on deposits and withdrawals only through actions that call ``apps.accounts.funding`` services. Each
list filters by user (``?uid=``) and by date range, searches by uid / email / phone / address /
txid, and exports CSV for staff holding ``backoffice.export_csv``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin

from apps.accounts.funding import (
    APPROVE_PERMISSION,
    FIAT_DEPOSIT_PERMISSION,
    PAYOUT_PERMISSION,
    deposit_fiat_confirm,
    deposit_fiat_reject,
    deposit_simulate,
    withdrawal_approve,
    withdrawal_payout_fiat,
    withdrawal_reject,
)
from apps.accounts.models import (
    Account,
    AddressBookEntry,
    Balance,
    BankCard,
    Deposit,
    DepositAddress,
    FundingAudit,
    FundingKind,
    LedgerTransaction,
    Posting,
    Transfer,
    Withdrawal,
    WithdrawalApproval,
    WithdrawalLimit,
)
from apps.accounts.selectors import withdrawal_address_history
from apps.backoffice.changelist import CsvExportMixin, DateRangeFilter, uid_filter, user_column
from apps.core.errors import BrokerError, InvalidParameter
from apps.users.models import User


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ["id", "organization", "user_link", "type", "index", "name", "allow_negative", "created_at"]
    list_filter = ["type", "organization", uid_filter("user")]
    search_fields = ["=id", "=user__uid", "user__email", "user__phone"]
    list_select_related = ["organization", "user"]
    user_link = user_column()


@admin.register(Balance)
class BalanceAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ["account", "user_link", "token", "available", "hold", "lockup", "total", "updated_at"]
    list_filter = ["token", "account__type", "account__organization", uid_filter("account__user")]
    search_fields = ["=account__id", "=account__user__uid", "account__user__email", "account__user__phone"]
    list_select_related = ["account", "account__user"]
    user_link = user_column("account__user")

    @admin.display(description="Total")
    def total(self, obj: Balance) -> Any:
        return obj.total


class PostingInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Posting
    extra = 0
    can_delete = False
    readonly_fields = ["account", "token", "bucket", "amount", "total_after", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ["id", "kind", "organization", "reference", "memo", "created_by", "created_at"]
    list_filter = ["kind", "organization", ("created_at", DateRangeFilter)]
    search_fields = ["=id", "reference", "idempotency_key", "memo"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [PostingInline]


@admin.register(Posting)
class PostingAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ["id", "transaction", "account", "token", "bucket", "amount", "total_after", "created_at"]
    list_filter = ["token", "bucket", "transaction__kind", uid_filter("account__user"), ("created_at", DateRangeFilter)]
    search_fields = ["=transaction__id", "=account__id", "=account__user__uid"]
    list_select_related = ["transaction", "account"]
    show_full_result_count = False


# --- funding --------------------------------------------------------------------------------------
# Staff act only through actions that call ``apps.accounts.funding`` services; each service checks
# the permission itself and writes a FundingAudit row naming the staff member.


class ReviewActionForm(helpers.ActionForm):
    reason = forms.CharField(required=False, label="Reason (reject) / bank reference (payout)", max_length=255)


class FundingAuditInline(admin.TabularInline):  # type: ignore[type-arg]
    model = FundingAudit
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "actor", "detail")
    readonly_fields = ("created_at", "action", "actor", "detail")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WithdrawalApprovalInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WithdrawalApproval
    extra = 0
    can_delete = False
    fields = ("staff", "created_at")
    readonly_fields = ("staff", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _run(admin_obj: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any], verb: str, call: Any) -> None:  # type: ignore[type-arg]
    done = 0
    for obj in queryset.order_by("pk"):
        try:
            call(obj)
            done += 1
        except BrokerError as exc:
            admin_obj.message_user(request, f"#{obj.pk}: {exc.message}", messages.ERROR)
    if done:
        admin_obj.message_user(request, f"{verb} {done} item(s).")


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@admin.register(Withdrawal)
class WithdrawalAdmin(CsvExportMixin, ReadOnlyAdmin, SimpleHistoryAdmin):  # type: ignore[misc]
    """The review queue: open withdrawals oldest first (filter by status for the rest)."""

    list_display = [
        "id",
        "created_at",
        "user_link",
        "kyc_level",
        "token",
        "chain",
        "amount",
        "fee",
        "address",
        "status",
        "approvals",
        "address_history",
    ]
    list_filter = [
        "status",
        "kind",
        "token",
        "organization",
        uid_filter("user"),
        ("created_at", DateRangeFilter),
        ("finished_at", DateRangeFilter),
    ]
    search_fields = ["=id", "=user__uid", "user__email", "user__phone", "address", "txid", "client_order_id"]
    search_help_text = "id, uid (exact), email, phone, address, txid or client order id"
    csv_fields = [
        "id",
        "created_at",
        "user_link",
        "token",
        "chain",
        "amount",
        "fee",
        "address",
        "memo",
        "txid",
        "status",
        "reason",
        "finished_at",
    ]
    user_link = user_column()
    ordering = ["created_at", "id"]
    list_select_related = ["user", "chain"]
    action_form = ReviewActionForm
    actions = ["approve_selected", "reject_selected", "payout_selected"]
    inlines = [WithdrawalApprovalInline, FundingAuditInline]
    readonly_fields = ["address_history_detail"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Withdrawal]:
        earlier = (
            Withdrawal.objects.filter(
                token_id=OuterRef("token_id"), address=OuterRef("address"), memo=OuterRef("memo"), pk__lt=OuterRef("pk")
            )
            .values("token_id")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                approval_count=Count("approvals", distinct=True),
                earlier_to_address=Coalesce(Subquery(earlier), 0),
            )
        )

    @admin.display(description="KYC")
    def kyc_level(self, obj: Withdrawal) -> int:
        return obj.user.kyc_level

    @admin.display(description="Approvals")
    def approvals(self, obj: Withdrawal) -> str:
        return f"{getattr(obj, 'approval_count', 0)}/{obj.approvals_required}"

    @admin.display(description="Earlier to address")
    def address_history(self, obj: Withdrawal) -> int:
        return int(getattr(obj, "earlier_to_address", 0)) if obj.address else 0

    @admin.display(description="Address history")
    def address_history_detail(self, obj: Withdrawal) -> str:
        rows = list(withdrawal_address_history(withdrawal=obj)[:20]) if obj.address else []
        if not rows:
            return "No earlier withdrawal to this address"
        return format_html_join(
            mark_safe("<br>"),
            "#{} {} {} {} by uid {} ({})",
            ((w.pk, w.created_at.date(), w.amount, w.token_id, w.user.uid, w.status) for w in rows),
        )

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(APPROVE_PERMISSION)

    def has_payout_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PAYOUT_PERMISSION)

    @admin.action(description="Approve selected withdrawals", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        staff = _staff(request)
        _run(self, request, queryset, "Approved", lambda w: withdrawal_approve(withdrawal_id=w.pk, acting_user=staff))

    @admin.action(description="Reject selected withdrawals (enter a reason)", permissions=["approve"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        staff, reason = _staff(request), request.POST.get("reason", "")
        _run(
            self,
            request,
            queryset,
            "Rejected",
            lambda w: withdrawal_reject(withdrawal_id=w.pk, acting_user=staff, reason=reason),
        )

    @admin.action(description="Mark fiat withdrawals paid (enter the bank reference)", permissions=["payout"])
    def payout_selected(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        staff, reference = _staff(request), request.POST.get("reason", "")
        _run(
            self,
            request,
            queryset,
            "Paid out",
            lambda w: withdrawal_payout_fiat(withdrawal_id=w.pk, acting_user=staff, reference=reference),
        )


class SimulateDepositForm(helpers.ActionForm):
    amount = forms.DecimalField(required=False, max_digits=38, decimal_places=18, label="Amount")
    confirmations = forms.IntegerField(required=False, min_value=0, label="Confirmations (blank = required)")


@admin.register(DepositAddress)
class DepositAddressAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ["id", "user_link", "token", "chain", "address", "memo", "created_at"]
    list_filter = ["token", "organization", uid_filter("user")]
    search_fields = ["=user__uid", "user__email", "user__phone", "address"]
    user_link = user_column()
    list_select_related = ["user", "chain"]
    action_form = SimulateDepositForm
    actions = ["simulate_deposit"]

    def has_simulate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.simulate_deposit")

    @admin.action(description="Simulate an incoming deposit to the selected addresses", permissions=["simulate"])
    def simulate_deposit(self, request: HttpRequest, queryset: QuerySet[DepositAddress]) -> None:
        staff = _staff(request)
        amount = request.POST.get("amount", "")
        raw = request.POST.get("confirmations", "")
        confirmations = int(raw) if raw.strip().isdigit() else None

        def simulate(address: DepositAddress) -> None:
            deposit = deposit_simulate(
                user=address.user,
                token_id=address.token_id,
                chain=address.chain.chain,
                amount=amount,
                confirmations=confirmations,
                acting_user=staff,
            )
            _audit_staff(staff, "deposit.simulated", deposit)

        _run(self, request, queryset, "Simulated deposits to", simulate)


def _audit_staff(staff: User, action: str, deposit: Deposit) -> None:
    FundingAudit.objects.create(actor=staff, action=action, deposit=deposit, detail={"amount": str(deposit.amount)})


@admin.register(Deposit)
class DepositAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "user_link",
        "token",
        "kind",
        "chain",
        "amount",
        "confirmations",
        "confirmations_required",
        "status",
        "txid",
        "bank_reference",
    ]
    list_filter = [
        "status",
        "kind",
        "token",
        "organization",
        uid_filter("user"),
        ("created_at", DateRangeFilter),
        ("credited_at", DateRangeFilter),
    ]
    search_fields = ["=id", "=user__uid", "user__email", "user__phone", "txid", "address", "bank_reference"]
    search_help_text = "id, uid (exact), email, phone, txid, address or bank reference"
    list_select_related = ["user", "chain"]
    user_link = user_column()
    action_form = ReviewActionForm
    actions = ["add_confirmation", "confirm_fiat", "reject_fiat"]
    inlines = [FundingAuditInline]

    def has_simulate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.simulate_deposit")

    def has_confirm_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(FIAT_DEPOSIT_PERMISSION)

    @admin.action(description="Simulate one more confirmation (simulated backend)", permissions=["simulate"])
    def add_confirmation(self, request: HttpRequest, queryset: QuerySet[Deposit]) -> None:
        staff = _staff(request)

        def confirm(deposit: Deposit) -> None:
            if deposit.kind != FundingKind.CRYPTO or deposit.chain is None:
                raise InvalidParameter(_("Only on-chain deposits have confirmations"))
            updated = deposit_simulate(
                user=deposit.user,
                token_id=deposit.token_id,
                chain=deposit.chain.chain,
                amount=deposit.amount,
                confirmations=deposit.confirmations + 1,
                txid=deposit.txid,
                acting_user=staff,
            )
            _audit_staff(staff, "deposit.confirmation_simulated", updated)

        _run(self, request, queryset, "Advanced", confirm)

    @admin.action(description="Confirm selected fiat deposits (bank transfer received)", permissions=["confirm"])
    def confirm_fiat(self, request: HttpRequest, queryset: QuerySet[Deposit]) -> None:
        staff = _staff(request)
        _run(self, request, queryset, "Credited", lambda d: deposit_fiat_confirm(deposit_id=d.pk, acting_user=staff))

    @admin.action(description="Reject selected fiat deposits (enter a reason)", permissions=["confirm"])
    def reject_fiat(self, request: HttpRequest, queryset: QuerySet[Deposit]) -> None:
        staff, reason = _staff(request), request.POST.get("reason", "")
        _run(
            self,
            request,
            queryset,
            "Rejected",
            lambda d: deposit_fiat_reject(deposit_id=d.pk, acting_user=staff, reason=reason),
        )


@admin.register(WithdrawalLimit)
class WithdrawalLimitAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = ["token", "kyc_level", "daily_limit", "monthly_limit"]
    list_filter = ["token", "kyc_level"]


@admin.register(Transfer)
class TransferAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ["id", "created_at", "user_link", "from_account", "to_user_link", "to_account", "token", "amount"]
    list_filter = ["token", "organization", uid_filter("user", "to_user"), ("created_at", DateRangeFilter)]
    search_fields = ["=id", "=user__uid", "=to_user__uid", "user__email", "client_order_id"]
    user_link = user_column()
    to_user_link = user_column("to_user", "To user")
    list_select_related = ["user", "to_user", "from_account", "to_account"]


@admin.register(AddressBookEntry)
class AddressBookEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "token", "chain", "address", "memo", "label", "created_at"]
    search_fields = ["=user__uid", "address"]


@admin.register(BankCard)
class BankCardAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "bank_name", "holder_name", "card_number", "is_active", "created_at"]
    search_fields = ["=user__uid", "holder_name"]


@admin.register(FundingAudit)
class FundingAuditAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ["id", "created_at", "action", "actor", "deposit", "withdrawal", "detail"]
    list_filter = ["action", ("created_at", DateRangeFilter)]
    search_fields = ["=deposit__id", "=withdrawal__id", "=actor__email"]
