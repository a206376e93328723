"""Finance admin (docs/finance.md).

Records are read-only: every operation goes through a form that calls its service, which checks the
staff member's permission (the "Finance operator" group holds them) and posts through the ledger.
Configuration (convert and mapping pairs, commission rates) is edited as ordinary models, with
history.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin

from apps.accounts.models import Account, AccountType
from apps.backoffice.changelist import CsvExportMixin, DateRangeFilter, uid_filter
from apps.core.errors import BrokerError
from apps.finance import services
from apps.finance.export import csv_lines, operation_rows
from apps.finance.models import (
    AccountTransferLock,
    Airdrop,
    AirdropBucket,
    AirdropItem,
    BonusGrant,
    CommissionConfig,
    CommissionRecord,
    ConvertPair,
    ConvertQuote,
    FinanceOperation,
    Lockup,
    MappingPair,
    MappingRecord,
    SystemBalance,
    TransferDirection,
)
from apps.finance.selectors import FINANCE_REFERENCE_PREFIX, OPERATIONS, operation_of
from apps.tokens.models import Token
from apps.users.models import Organization, User


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class RecordAdmin(CsvExportMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only records; ``operation_form`` (when set) replaces the add page with a service call."""

    operation_form: type[forms.Form] | None = None
    operation_title = ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.operation_form is not None and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def perform(self, request: HttpRequest, data: dict[str, Any]) -> Any:
        raise NotImplementedError  # every admin with an operation_form defines it

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> Any:
        if self.operation_form is None or not self.has_add_permission(request):
            raise DjangoPermissionDenied
        form = self.operation_form(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                obj = self.perform(request, form.cleaned_data)
            except BrokerError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Done: {obj}", messages.SUCCESS)
                opts = self.model._meta
                return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": self.operation_title or f"New {self.model._meta.verbose_name}",
            "form": form,
            "opts": self.model._meta,
            "has_file_field": any(isinstance(f, forms.FileField) for f in form.fields.values()),
        }
        return TemplateResponse(request, "admin/finance/operation_form.html", context)

    def _run(self, request: HttpRequest, queryset: QuerySet[Any], verb: str, call: Any) -> None:
        done = 0
        for obj in queryset.order_by("pk"):
            try:
                call(obj)
                done += 1
            except BrokerError as exc:
                self.message_user(request, f"#{obj.pk}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{verb} {done} item(s).")


def _user_by_uid(organization: Organization | None, uid: int) -> User:
    queryset = User.objects.filter(uid=uid)
    if organization is not None:
        queryset = queryset.filter(organization=organization)
    user = queryset.first()
    if user is None:
        raise forms.ValidationError(f"No user with uid {uid}")
    return user


# --- airdrop ----------------------------------------------------------------------------------------


class AirdropForm(forms.Form):
    organization = forms.ModelChoiceField(Organization.objects.filter(is_active=True))
    batch_id = forms.CharField(max_length=64, help_text="Unique per organization; resubmitting it changes nothing")
    token = forms.ModelChoiceField(Token.objects.all())
    bucket = forms.ChoiceField(choices=AirdropBucket.choices)
    unlock_at = forms.DateTimeField(required=False, help_text="Lockup only: released automatically at this time")
    source_uid = forms.IntegerField(required=False, help_text="Pay from this user; empty = the OPERATING account")
    csv_file = forms.FileField(help_text="CSV with a header row: uid,amount")
    memo = forms.CharField(max_length=255, required=False)

    def clean_csv_file(self) -> list[dict[str, str]]:
        upload = self.cleaned_data["csv_file"]
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file must be UTF-8 text") from None
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or {"uid", "amount"} - {f.strip().lower() for f in reader.fieldnames}:
            raise forms.ValidationError("The first line must be the header uid,amount")
        rows = [{k.strip().lower(): (v or "") for k, v in row.items() if k} for row in reader]
        if not rows:
            raise forms.ValidationError("The file has no rows")
        return rows


class AirdropItemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = AirdropItem
    fields = ("row", "uid", "amount_text", "status", "reason", "ledger_transaction")
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    verbose_name_plural = "Failed rows (all rows: the airdrop items list, filtered by this batch)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[AirdropItem]:
        return super().get_queryset(request).filter(status="failed")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Airdrop)
class AirdropAdmin(RecordAdmin):
    operation_form = AirdropForm
    operation_title = "New airdrop (CSV upload)"
    list_display = [
        "batch_id",
        "organization",
        "token",
        "bucket",
        "status",
        "progress",
        "succeeded_rows",
        "failed_rows",
        "valid_amount",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "bucket", "token", "organization", "created_at"]
    search_fields = ["batch_id", "memo"]
    date_hierarchy = "created_at"
    inlines = [AirdropItemInline]

    @admin.display(description="Progress")
    def progress(self, obj: Airdrop) -> str:
        return f"{obj.processed_rows}/{obj.total_rows}"

    def perform(self, request: HttpRequest, data: dict[str, Any]) -> Airdrop:
        return services.airdrop_batch_create(
            organization=data["organization"],
            batch_id=data["batch_id"],
            token_id=data["token"].pk,
            rows=data["csv_file"],
            bucket=data["bucket"],
            unlock_at=data.get("unlock_at"),
            source_uid=data.get("source_uid"),
            memo=data.get("memo") or "",
            acting_user=_staff(request),
        )


@admin.register(AirdropItem)
class AirdropItemAdmin(RecordAdmin):
    list_display = ["airdrop", "row", "uid", "amount_text", "status", "reason", "ledger_transaction"]
    list_filter = ["status", "airdrop__organization"]
    search_fields = ["=airdrop__batch_id", "=uid"]
    list_select_related = ["airdrop"]


# --- lock-ups ---------------------------------------------------------------------------------------


class LockupForm(forms.Form):
    organization = forms.ModelChoiceField(Organization.objects.filter(is_active=True))
    uid = forms.IntegerField()
    token = forms.ModelChoiceField(Token.objects.all())
    amount = forms.DecimalField(max_digits=38, decimal_places=18)
    unlock_at = forms.DateTimeField(required=False)
    memo = forms.CharField(max_length=255, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("uid") is not None:
            data["user"] = _user_by_uid(data.get("organization"), data["uid"])
        return data


@admin.register(Lockup)
class LockupAdmin(RecordAdmin):
    operation_form = LockupForm
    operation_title = "Lock a user's funds"
    list_display = ["id", "user", "token", "amount", "source", "status", "unlock_at", "created_at", "released_at"]
    list_filter = ["status", "source", "token", "organization", uid_filter("user"), ("created_at", DateRangeFilter)]
    search_fields = ["=id", "=user__uid", "user__email", "client_order_id"]
    list_select_related = ["user"]
    actions = ["release_selected"]

    def perform(self, request: HttpRequest, data: dict[str, Any]) -> Lockup:
        return services.lockup_create(
            user=data["user"],
            token_id=data["token"].pk,
            amount=data["amount"],
            unlock_at=data.get("unlock_at"),
            memo=data.get("memo") or "",
            acting_user=_staff(request),
        )

    @admin.action(description="Release selected lock-ups now", permissions=["release"])
    def release_selected(self, request: HttpRequest, queryset: QuerySet[Lockup]) -> None:
        staff = _staff(request)
        self._run(request, queryset, "Released", lambda o: services.lockup_release(lockup_id=o.pk, acting_user=staff))

    def has_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("finance.release_lockup")


# --- bonus ------------------------------------------------------------------------------------------


class BonusForm(forms.Form):
    organization = forms.ModelChoiceField(Organization.objects.filter(is_active=True))
    uid = forms.IntegerField()
    token = forms.ModelChoiceField(Token.objects.all())
    amount = forms.DecimalField(max_digits=38, decimal_places=18)
    withdrawable = forms.BooleanField(required=False, help_text="Unticked: kept in lockup until released")
    client_order_id = forms.CharField(max_length=64, required=False)
    memo = forms.CharField(max_length=255, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("uid") is not None:
            data["user"] = _user_by_uid(data.get("organization"), data["uid"])
        return data


@admin.register(BonusGrant)
class BonusGrantAdmin(RecordAdmin):
    operation_form = BonusForm
    operation_title = "Grant a bonus (赠金)"
    list_display = ["id", "user", "token", "amount", "withdrawable", "status", "created_by", "created_at"]
    list_filter = [
        "withdrawable",
        "status",
        "token",
        "organization",
        uid_filter("user"),
        ("created_at", DateRangeFilter),
    ]
    search_fields = ["=id", "=user__uid", "user__email", "client_order_id"]
    list_select_related = ["user", "created_by"]
    actions = ["release_selected"]

    def perform(self, request: HttpRequest, data: dict[str, Any]) -> BonusGrant:
        return services.bonus_grant(
            user=data["user"],
            token_id=data["token"].pk,
            amount=data["amount"],
            withdrawable=data.get("withdrawable", False),
            client_order_id=data.get("client_order_id") or None,
            memo=data.get("memo") or "",
            acting_user=_staff(request),
        )

    @admin.action(description="Release selected non-withdrawable bonuses", permissions=["release"])
    def release_selected(self, request: HttpRequest, queryset: QuerySet[BonusGrant]) -> None:
        staff = _staff(request)
        self._run(request, queryset, "Released", lambda o: services.bonus_release(grant_id=o.pk, acting_user=staff))

    def has_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("finance.release_bonusgrant")


# --- transfer locks ---------------------------------------------------------------------------------


class TransferLockForm(forms.Form):
    organization = forms.ModelChoiceField(Organization.objects.filter(is_active=True))
    uid = forms.IntegerField()
    account_type = forms.ChoiceField(choices=[(AccountType.SPOT, "spot"), (AccountType.FUNDING, "funding")])
    index = forms.IntegerField(min_value=0, initial=0)
    direction = forms.ChoiceField(choices=TransferDirection.choices)
    reason = forms.CharField(max_length=255)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("uid") is not None:
            user = _user_by_uid(data.get("organization"), data["uid"])
            account = Account.objects.filter(
                user=user, type=data.get("account_type"), index=data.get("index") or 0
            ).first()
            if account is None:
                raise forms.ValidationError("The user has no such account")
            data["account"] = account
        return data


@admin.register(AccountTransferLock)
class AccountTransferLockAdmin(RecordAdmin):
    operation_form = TransferLockForm
    operation_title = "Lock transfers of an account"
    list_display = ["id", "account", "direction", "reason", "is_active", "created_by", "created_at", "lifted_at"]
    list_filter = ["is_active", "direction", "account__organization"]
    search_fields = ["=account__id", "=account__user__uid", "reason"]
    list_select_related = ["account", "account__user", "created_by"]
    actions = ["lift_selected"]

    def perform(self, request: HttpRequest, data: dict[str, Any]) -> AccountTransferLock:
        return services.account_transfer_lock(
            account=data["account"], direction=data["direction"], reason=data["reason"], acting_user=_staff(request)
        )

    @admin.action(description="Lift selected transfer locks", permissions=["lift"])
    def lift_selected(self, request: HttpRequest, queryset: QuerySet[AccountTransferLock]) -> None:
        staff = _staff(request)
        self._run(
            request, queryset, "Lifted", lambda o: services.account_transfer_unlock(lock_id=o.pk, acting_user=staff)
        )

    def has_lift_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("finance.change_accounttransferlock")


# --- commission -------------------------------------------------------------------------------------


class CommissionSettleForm(forms.Form):
    organization = forms.ModelChoiceField(Organization.objects.filter(is_active=True))
    day = forms.DateField(help_text="A finished UTC day; settling a day twice changes nothing")


@admin.register(CommissionRecord)
class CommissionRecordAdmin(RecordAdmin):
    operation_form = CommissionSettleForm
    operation_title = "Settle referral commission for a day"
    list_display = ["id", "day", "inviter", "invitee", "level", "token", "fee_amount", "rate", "amount"]
    list_filter = ["level", "token", "organization", "day"]
    search_fields = ["=inviter__uid", "=invitee__uid", "inviter__email"]
    list_select_related = ["inviter", "invitee"]
    date_hierarchy = "day"

    def perform(self, request: HttpRequest, data: dict[str, Any]) -> Any:
        records = services.commission_settle_day(
            organization=data["organization"], day=data["day"], acting_user=_staff(request)
        )
        if not records:
            raise BrokerError(_("No commission is due for %(day)s") % {"day": data["day"]})
        return records[0]


@admin.register(CommissionConfig)
class CommissionConfigAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = ["organization", "level1_rate", "level2_rate", "is_active"]


# --- convert and mapping ----------------------------------------------------------------------------


class PairForm(forms.ModelForm):  # type: ignore[type-arg]
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("from_token") and data.get("from_token") == data.get("to_token"):
            raise forms.ValidationError("From and to tokens must differ")
        symbol = data.get("symbol")
        if symbol is not None and {symbol.base_id, symbol.quote_id} != {
            getattr(data.get("from_token"), "pk", None),
            getattr(data.get("to_token"), "pk", None),
        }:
            raise forms.ValidationError("The symbol must trade the two tokens of the pair")
        return data


@admin.register(ConvertPair)
class ConvertPairAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    form = PairForm
    list_display = [
        "organization",
        "from_token",
        "to_token",
        "symbol",
        "spread",
        "min_amount",
        "max_amount",
        "is_active",
    ]
    list_filter = ["is_active", "organization"]


@admin.register(MappingPair)
class MappingPairAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    form = PairForm
    list_display = [
        "organization",
        "from_token",
        "to_token",
        "rate",
        "min_amount",
        "max_amount",
        "daily_user_limit",
        "total_user_limit",
        "is_active",
    ]
    list_filter = ["is_active", "organization"]


@admin.register(ConvertQuote)
class ConvertQuoteAdmin(RecordAdmin):
    list_display = ["id", "user", "pair", "from_amount", "to_amount", "rate", "status", "expires_at", "executed_at"]
    list_filter = ["status", "organization", uid_filter("user")]
    search_fields = ["=id", "=user__uid"]
    list_select_related = ["user", "pair"]


@admin.register(MappingRecord)
class MappingRecordAdmin(RecordAdmin):
    list_display = ["id", "user", "pair", "from_amount", "to_amount", "rate", "created_by", "created_at"]
    list_filter = ["organization", "pair", uid_filter("user"), ("created_at", DateRangeFilter)]
    search_fields = ["=id", "=user__uid", "client_order_id"]
    list_select_related = ["user", "pair"]


# --- balances and history ---------------------------------------------------------------------------


@admin.register(SystemBalance)
class SystemBalanceAdmin(RecordAdmin):
    list_display = ["organization", "account_type", "token", "available", "hold", "lockup", "updated_at"]
    list_filter = ["account__type", "account__organization", "token"]
    list_select_related = ["account", "account__organization"]
    ordering = ["account__organization_id", "account__type", "token_id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SystemBalance]:
        return (
            super()
            .get_queryset(request)
            .filter(account__user__isnull=True, account__type__in=[AccountType.OPERATING, AccountType.FEE])
        )

    @admin.display(description="Organization", ordering="account__organization")
    def organization(self, obj: SystemBalance) -> str:
        return str(obj.account.organization)

    @admin.display(description="Account", ordering="account__type")
    def account_type(self, obj: SystemBalance) -> str:
        return obj.account.type


class OperationFilter(admin.SimpleListFilter):
    title = "operation"
    parameter_name = "operation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name.replace("_", " ")) for name in OPERATIONS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value in OPERATIONS:
            return queryset.filter(reference__startswith=OPERATIONS[value])
        return queryset


class TokenFilter(admin.SimpleListFilter):
    title = "token"
    parameter_name = "token"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(t, t) for t in Token.objects.order_by("pk").values_list("pk", flat=True)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(postings__token_id=value).distinct() if value else queryset


@admin.register(FinanceOperation)
class FinanceOperationAdmin(RecordAdmin):
    """Every ledger transaction a finance operation wrote; filter, then export the selection as CSV."""

    list_display = ["id", "created_at", "organization", "operation", "kind", "reference", "memo", "created_by"]
    list_filter = [OperationFilter, TokenFilter, "organization", ("created_at", DateRangeFilter)]
    search_fields = ["=id", "reference", "memo", "=created_by__username"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "created_by"]
    actions = ["export_csv"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FinanceOperation]:
        return super().get_queryset(request).filter(reference__startswith=FINANCE_REFERENCE_PREFIX)

    @admin.display(description="Operation")
    def operation(self, obj: FinanceOperation) -> str:
        return operation_of(obj.reference)

    @admin.action(description="Export selected as CSV", permissions=["export"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[FinanceOperation]) -> HttpResponse:
        response = StreamingHttpResponse(csv_lines(operation_rows(queryset.order_by("id"))), content_type="text/csv")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="finance-operations-{stamp}.csv"'
        return response  # type: ignore[return-value]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("finance.export_financeoperation")
