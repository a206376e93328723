"""KYC review in the admin: a queue (pending first), approve/reject actions, private documents.

Documents are listed and served only to staff holding ``kyc.review_kycapplication``; the file view
streams from private storage (never MEDIA_URL) after that check.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponseForbidden
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from apps.backoffice.changelist import CsvExportMixin, DateRangeFilter, uid_filter, user_column
from apps.core.errors import BrokerError
from apps.kyc.models import KycApplication, KycCountry, KycDocument
from apps.kyc.selectors import kyc_review_queue
from apps.kyc.services import REVIEW_PERMISSION, kyc_application_approve, kyc_application_reject
from apps.users.models import User


class ReviewActionForm(helpers.ActionForm):
    reason = forms.CharField(required=False, label="Reason (for reject)", max_length=255)


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1d", "Under a day"), ("3d", "1–3 days"), ("old", "Over 3 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "1d":
            return queryset.filter(created_at__gte=now - timedelta(days=1))
        if self.value() == "3d":
            return queryset.filter(created_at__lt=now - timedelta(days=1), created_at__gte=now - timedelta(days=3))
        if self.value() == "old":
            return queryset.filter(created_at__lt=now - timedelta(days=3))
        return queryset


@admin.register(KycCountry)
class KycCountryAdmin(SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "individual_allowed", "corporate_allowed"]
    list_editable = ["individual_allowed", "corporate_allowed"]
    search_fields = ["code", "name"]


@admin.register(KycApplication)
class KycApplicationAdmin(CsvExportMixin, SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = [
        "id",
        "user_link",
        "level",
        "account_type",
        "country",
        "state",
        "created_at",
        "reviewer",
        "reviewed_at",
    ]
    list_filter = [
        "state",
        "level",
        "country",
        "account_type",
        AgeFilter,
        uid_filter("user"),
        ("created_at", DateRangeFilter),
        ("reviewed_at", DateRangeFilter),
    ]
    search_fields = ["=user__uid", "user__email", "user__phone", "last_name", "company_name", "id_number"]
    search_help_text = "uid (exact), email, phone, last name, company or id number"
    list_select_related = ["user", "country", "reviewer"]
    user_link = user_column()
    action_form = ReviewActionForm
    actions = ["approve_selected", "reject_selected"]
    readonly_fields = [
        "user",
        "level",
        "account_type",
        "country",
        "first_name",
        "last_name",
        "company_name",
        "id_type",
        "id_number",
        "address",
        "state",
        "reason",
        "reviewer",
        "reviewed_at",
        "created_at",
        "documents",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(self.readonly_fields)
        if not request.user.has_perm(REVIEW_PERMISSION):
            fields.remove("documents")  # staff without the reviewer permission never see documents
        return fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[KycApplication]:
        return kyc_review_queue()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Documents")
    def documents(self, obj: KycApplication) -> str:
        return format_html_join(
            " ",
            '<a href="{}" target="_blank">{}</a>',
            (
                (reverse("admin:kyc_document", args=[obj.pk, document.pk]), document.get_kind_display())
                for document in obj.documents.all()
            ),
        ) or format_html("{}", "No documents")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:application_id>/document/<int:document_id>/",
                self.admin_site.admin_view(self.document_view),
                name="kyc_document",
            ),
            *super().get_urls(),
        ]

    def document_view(self, request: HttpRequest, application_id: int, document_id: int) -> HttpResponseBase:
        if not request.user.has_perm(REVIEW_PERMISSION):
            return HttpResponseForbidden("Only KYC reviewers can see documents")
        document = get_object_or_404(KycDocument, pk=document_id, application_id=application_id)
        response = FileResponse(document.file.open("rb"), content_type=document.content_type)
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def _review(self, request: HttpRequest, queryset: QuerySet[KycApplication], approve: bool) -> None:
        acting = request.user
        assert isinstance(acting, User)
        reason = request.POST.get("reason", "")
        done = 0
        for application in queryset:
            try:
                if approve:
                    kyc_application_approve(application=application, acting_user=acting)
                else:
                    kyc_application_reject(application=application, acting_user=acting, reason=reason)
                done += 1
            except BrokerError as exc:
                self.message_user(request, f"Application {application.pk}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{'Approved' if approve else 'Rejected'} {done} application(s).")

    @admin.action(description="Approve selected applications", permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[KycApplication]) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description="Reject selected applications (enter a reason)", permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[KycApplication]) -> None:
        self._review(request, queryset, approve=False)

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)
