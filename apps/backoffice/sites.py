"""The staff admin site: django-otp's TOTP sign-in, and the dashboard as its front page.

Staff sign in with username, password and the six-digit code of their TOTP device
(``manage.py create_staff`` prints its ``otpauth://`` URI). A session that has not passed the TOTP
step is treated as not staff (django-otp's ``OTPAdminSite``). ``BACKOFFICE_ADMIN_OTP = False``
switches the TOTP step off — only the test suite does, for tests of other features that sign staff
in with ``force_login``; the back-office tests switch it back on.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.backoffice.roles import DASHBOARD
from apps.users.models import Organization

DAY_CHOICES = (7, 30, 90)
# (label, permission to see it, admin changelist, filter) of each queue count on the front page.
QUEUES = (
    (
        "kyc_pending",
        "KYC applications waiting",
        "kyc.view_kycapplication",
        "kyc_kycapplication",
        "state__exact=submitted",
    ),
    (
        "withdrawals_reviewing",
        "Withdrawals waiting for approval",
        "accounts.view_withdrawal",
        "accounts_withdrawal",
        "status__exact=reviewing",
    ),
    (
        "fiat_deposits_pending",
        "Fiat deposits waiting for confirmation",
        "accounts.view_deposit",
        "accounts_deposit",
        "status__exact=pending",
    ),
)


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Username, password and the TOTP code; the code is checked against the staff member's TOTP device.

    django-otp asks which device to use when none is chosen; staff have one TOTP device, so it is
    taken without asking (never another user's: it is looked up by the authenticated user).
    """

    def _chosen_device(self, user: Any) -> Any:
        device = super()._chosen_device(user)
        if device is None:
            # Locked like django-otp locks a chosen device, so two sign-ins cannot both spend one code.
            device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
        return device


class BackofficeAdminSite(OTPAdminSite):
    site_header = "Broker back office"
    site_title = "Broker back office"
    index_title = "Dashboard"
    index_template = "admin/backoffice/index.html"
    login_template = "admin/backoffice/login.html"
    login_form = StaffLoginForm

    def __init__(self, name: str = "admin") -> None:
        # OTPAdminSite defaults to the name "otpadmin"; "admin" keeps every reverse("admin:…") working.
        super().__init__(name)

    def has_permission(self, request: HttpRequest) -> bool:
        if getattr(settings, "BACKOFFICE_ADMIN_OTP", True):
            return super().has_permission(request)
        return AdminSite.has_permission(self, request)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            path(
                "dashboard/refresh/",
                self.admin_view(require_POST(self.dashboard_refresh)),
                name="backoffice_dashboard_refresh",
            ),
            *super().get_urls(),
        ]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = dict(extra_context or {})
        if request.user.has_perm(DASHBOARD):
            context["dashboard"] = self._dashboard(request)
        return super().index(request, context)

    def _dashboard(self, request: HttpRequest) -> dict[str, Any]:
        from apps.backoffice.selectors import dashboard_queues, dashboard_series, dashboard_totals

        days = int(request.GET.get("days", "30")) if request.GET.get("days", "30").isdigit() else 30
        days = days if days in DAY_CHOICES else 30
        org_param = request.GET.get("org", "")
        organization_id = int(org_param) if org_param.isdigit() else None
        counts = dashboard_queues()
        queues = [
            {
                "key": key,
                "label": label,
                "count": counts[key],
                "url": f"{reverse(f'admin:{changelist}_changelist')}?{query}",
            }
            for key, label, perm, changelist, query in QUEUES
            if request.user.has_perm(perm)
        ]
        return {
            "queues": queues,
            "series": dashboard_series(days=days, organization_id=organization_id),
            "totals": dashboard_totals(days=days, organization_id=organization_id),
            "days": days,
            "day_choices": DAY_CHOICES,
            "organizations": list(Organization.objects.order_by("name").values("pk", "name")),
            "organization_id": organization_id,
        }

    def dashboard_refresh(self, request: HttpRequest) -> HttpResponseBase:
        from apps.backoffice.services import statistics_refresh

        if not request.user.has_perm(DASHBOARD):
            return HttpResponse("Forbidden", status=403)
        rows = statistics_refresh(days=2)
        messages.success(request, f"Statistics of today and yesterday recomputed ({rows} rows).")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:index")
        return HttpResponseRedirect(target)


def actions_require_permission(site: AdminSite) -> list[str]:
    """Make every registered admin action that names no permission need its model's change permission.

    Django offers such an action to anyone who can open the list; some third-party admins register
    actions like that (django-celery-beat's "run tasks", django-axes' cleanup, the OAuth toolkit's
    token revocation), which would hand them to read-only staff. Called once from the app's ready().
    """
    patched = []
    for model, model_admin in site._registry.items():
        for action in model_admin.actions or ():
            found = model_admin.get_action(action)
            if found is None:
                continue
            func = getattr(found[0], "__func__", found[0])
            if not getattr(func, "allowed_permissions", ()):
                func.allowed_permissions = ("change",)  # type: ignore[union-attr]
                patched.append(f"{model._meta.label}.{found[1]}")
    return patched
