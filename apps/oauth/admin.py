"""Staff pages for OAuth applications: register, allow scopes, approve or suspend.

django-oauth-toolkit registers its ``Application`` with ``ApplicationAdmin`` below
(``OAUTH2_PROVIDER["APPLICATION_ADMIN_CLASS"]``). The broker's registration (organization, allowed
scopes, description) is edited inline; approval changes only through the list's actions, which
call the services and record who approved. A new application starts unapproved. Copy the client
secret from the add form before saving: it is stored hashed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from oauth2_provider.forms import ApplicationForm
from oauth2_provider.models import Application

from apps.oauth.models import AppRegistration
from apps.oauth.scopes import SCOPE_DESCRIPTIONS, SCOPES, scopes_parse
from apps.oauth.selectors import registration_of
from apps.oauth.services import oauth_app_approve, oauth_app_suspend
from apps.users.models import User


class AppRegistrationForm(forms.ModelForm):  # type: ignore[type-arg]
    allowed_scopes = forms.MultipleChoiceField(
        choices=[(name, f"{name} — {SCOPE_DESCRIPTIONS[name]}") for name in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="What the application may ask users for; each scope is consented to separately.",
    )
    homepage = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = AppRegistration
        fields = ["organization", "allowed_scopes", "description", "homepage"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["allowed_scopes"] = scopes_parse(self.instance.allowed_scopes)

    def clean_allowed_scopes(self) -> str:
        return " ".join(scopes_parse(" ".join(self.cleaned_data["allowed_scopes"])))


class AppRegistrationInline(admin.StackedInline):  # type: ignore[type-arg]
    model = AppRegistration
    form = AppRegistrationForm
    min_num = 1
    max_num = 1
    can_delete = False
    readonly_fields = ["is_approved", "approved_by", "approved_at"]


class ApplicationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ApplicationForm
    inlines = [AppRegistrationInline]
    list_display = ["name", "client_id", "client_type", "organization", "scopes", "approved"]
    list_filter = ["client_type", "registration__is_approved", "registration__organization"]
    search_fields = ["name", "client_id"]
    radio_fields = {"client_type": admin.HORIZONTAL}
    fields = ["name", "client_id", "client_type", "client_secret", "hash_client_secret", "redirect_uris"]
    actions = ["approve", "suspend"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Application]:
        return super().get_queryset(request).select_related("registration", "registration__organization")

    def save_model(self, request: HttpRequest, obj: Application, form: Any, change: bool) -> None:
        # Third-party apps only use the authorization code flow (with refresh); nothing else is offered.
        obj.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
        obj.skip_authorization = False
        super().save_model(request, obj, form, change)

    @admin.display(description="organization")
    def organization(self, obj: Application) -> str:
        registration = registration_of(obj)
        return str(registration.organization) if registration else "—"

    @admin.display(description="allowed scopes")
    def scopes(self, obj: Application) -> str:
        registration = registration_of(obj)
        return registration.allowed_scopes if registration else "—"

    @admin.display(description="approved", boolean=True)
    def approved(self, obj: Application) -> bool:
        registration = registration_of(obj)
        return bool(registration and registration.is_approved)

    @admin.action(description="Approve selected applications", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Application]) -> None:
        count = 0
        for application in queryset:
            registration = registration_of(application)
            if registration is None:
                self.message_user(request, f"{application} has no registration; edit it first", messages.ERROR)
                continue
            oauth_app_approve(registration=registration, acting_user=_acting(request))
            count += 1
        self.message_user(request, f"Approved {count} application(s)")

    @admin.action(description="Suspend selected applications (revokes their tokens)", permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Application]) -> None:
        revoked = 0
        for application in queryset:
            registration = registration_of(application)
            if registration is not None:
                revoked += oauth_app_suspend(registration=registration, acting_user=_acting(request))
        self.message_user(request, f"Suspended; {revoked} token(s) revoked")


def _acting(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None
