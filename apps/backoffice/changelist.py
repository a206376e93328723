"""Pieces every admin list page shares: date-range filters, a filter by user uid, links to a user's
other records, and CSV export behind the ``backoffice.export_csv`` permission.

CSV cells that a spreadsheet would read as a formula (starting with ``= + - @``, a tab or a carriage
return) get a leading ``'`` (OWASP "CSV injection"); amounts are plain strings, never floats.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import label_for_field, lookup_field
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html, format_html_join, strip_tags
from django.utils.text import capfirst

from apps.backoffice.roles import EXPORT
from apps.core.money import fmt

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """A cell as text, with a leading ``'`` when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return csv_safe(fmt(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return csv_safe(strip_tags(value))
    return csv_safe(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(rows: Iterable[Sequence[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


# --- CSV export ---------------------------------------------------------------------------------


class CsvExportMixin:
    """Adds "Export selected as CSV" to a ModelAdmin for staff holding ``backoffice.export_csv``.

    Columns are ``csv_fields`` (default: ``list_display``), rendered as on the list page but as plain
    text. Select all rows ("select all N") to export everything the current filters match.
    """

    csv_fields: Sequence[str] | None = None

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EXPORT)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)  # type: ignore[misc]
        if self.has_export_permission(request) and "_popup" not in request.GET:
            func = type(self).export_csv
            actions["export_csv"] = (func, "export_csv", func.short_description)  # type: ignore[attr-defined]
        return actions

    def get_csv_fields(self, request: HttpRequest) -> list[str]:
        fields = self.csv_fields or self.list_display  # type: ignore[attr-defined]
        return [name for name in fields if name != "action_checkbox" and isinstance(name, str)]

    @admin.action(description="Export selected as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponseBase:
        if not self.has_export_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        model = queryset.model
        names = self.get_csv_fields(request)

        def rows() -> Iterator[list[str]]:
            yield [csv_safe(capfirst(strip_tags(str(label_for_field(name, model, cast(Any, self)))))) for name in names]
            for obj in queryset.iterator(chunk_size=500):
                row = []
                for name in names:
                    try:
                        _field, _attr, value = lookup_field(name, obj, self)  # type: ignore[arg-type]
                    except (AttributeError, models.ObjectDoesNotExist):
                        value = ""
                    row.append(csv_cell(value))
                yield row

        response = StreamingHttpResponse(csv_stream(rows()), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="{model._meta.model_name}-{stamp}.csv"'
        return response


# --- filters ----------------------------------------------------------------------------------------


class DateRangeFilter(admin.FieldListFilter):
    """From / to dates (inclusive, UTC days) for a date or datetime field: ``?<field>__from=&<field>__to=``."""

    template = "admin/backoffice/date_range_filter.html"

    def __init__(
        self,
        field: Any,
        request: HttpRequest,
        params: dict[str, Any],
        model: Any,
        model_admin: Any,
        field_path: str,
    ) -> None:
        self.param_from = f"{field_path}__from"
        self.param_to = f"{field_path}__to"
        super().__init__(field, request, params, model, model_admin, field_path)

    def expected_parameters(self) -> list[str | None]:
        return [self.param_from, self.param_to]

    def _value(self, name: str) -> date | None:
        value = self.used_parameters.get(name)
        if isinstance(value, list):
            value = value[-1] if value else None
        return parse_date(value) if isinstance(value, str) else None

    def _bound(self, day: date) -> Any:
        if isinstance(self.field, models.DateTimeField):
            return datetime.combine(day, time.min, tzinfo=UTC)
        return day

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        start, end = self._value(self.param_from), self._value(self.param_to)
        if start is not None:
            queryset = queryset.filter(**{f"{self.field_path}__gte": self._bound(start)})
        if end is not None:
            queryset = queryset.filter(**{f"{self.field_path}__lt": self._bound(end + timedelta(days=1))})
        return queryset

    def has_output(self) -> bool:
        return True

    def get_facet_counts(self, pk_attname: str, filtered_qs: QuerySet[Any]) -> dict[str, Any]:
        return {}

    def choices(self, changelist: ChangeList) -> Iterator[Any]:
        start, end = self._value(self.param_from), self._value(self.param_to)
        keep = [
            (key, value)
            for key, values in changelist.params.items()
            if key not in (self.param_from, self.param_to, "p")
            for value in (values if isinstance(values, list) else [values])
        ]
        yield {
            "param_from": self.param_from,
            "param_to": self.param_to,
            "value_from": start.isoformat() if start else "",
            "value_to": end.isoformat() if end else "",
            "keep": keep,
            "clear_url": changelist.get_query_string(remove=[self.param_from, self.param_to]),
            "selected": bool(start or end),
        }


class _UidFilter(admin.SimpleListFilter):
    title = "user uid"
    parameter_name = "uid"
    user_paths: tuple[str, ...] = ("user",)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # Shown only while set (the links from a user's page set it); search finds a uid otherwise.
        value = self.value()
        return [(value, f"uid {value}")] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        query = Q()
        for path in self.user_paths:
            query |= Q(**{f"{path}__uid": int(value)})
        return queryset.filter(query)


def uid_filter(*user_paths: str) -> type[admin.SimpleListFilter]:
    """A list filter ``?uid=<public uid>`` over the user foreign keys ``user_paths`` (any of them)."""
    return type("UidFilter", (_UidFilter,), {"user_paths": user_paths or ("user",)})


# --- links ------------------------------------------------------------------------------------------


def changelist_url(app_model: str, **params: Any) -> str:
    url = reverse(f"admin:{app_model}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def user_link(user: Any) -> str:
    if user is None:
        return "—"
    label = f"{user.email or user.phone or user.username} ({user.uid})" if user.uid else user.username
    return format_html('<a href="{}">{}</a>', reverse("admin:users_user_change", args=[user.pk]), label)


def user_column(path: str = "user", description: str = "User") -> Callable[[Any, Any], str]:
    """A list column linking to the user page, sortable by ``path``."""

    @admin.display(description=description, ordering=path)
    def column(model_admin: Any, obj: Any) -> str:
        target = obj
        for part in path.split("__"):
            target = getattr(target, part, None)
        return user_link(target)

    return column


# The lists a user's page links to: (label, "app_model" of the changelist).
USER_RECORDS: tuple[tuple[str, str], ...] = (
    ("Accounts", "accounts_account"),
    ("Balances", "accounts_balance"),
    ("Ledger postings", "accounts_posting"),
    ("Orders", "trading_order"),
    ("Trades", "trading_trade"),
    ("Deposits", "accounts_deposit"),
    ("Withdrawals", "accounts_withdrawal"),
    ("Transfers", "accounts_transfer"),
    ("KYC applications", "kyc_kycapplication"),
    ("Freezes", "users_userfreeze"),
)


def user_record_links(user: Any) -> str:
    if not user.uid:
        return "—"
    return format_html_join(
        " · ", '<a href="{}">{}</a>', ((changelist_url(target, uid=user.uid), label) for label, target in USER_RECORDS)
    )
