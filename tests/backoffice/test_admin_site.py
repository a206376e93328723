"""The staff admin: TOTP sign-in, roles enforced on every page and action, the dashboard front page."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from apps.kyc.models import KycApplication, KycCountry
from apps.kyc.services import kyc_application_submit
from tests.backoffice.conftest import sign_in, throttle_reset, totp_now

pytestmark = pytest.mark.django_db


def test_a_session_without_the_totp_step_is_not_staff(client, otp_on, django_user_model):
    boss = django_user_model.objects.create_superuser(username="boss", password="pw-for-tests-only")
    client.force_login(boss)  # password only, no TOTP
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_sign_in_needs_the_current_code_and_accepts_it_once(client, otp_on, make_staff_member):
    staff = make_staff_member("support")
    wrong = "000000" if totp_now(staff.user) != "000000" else "111111"
    refused = sign_in(client, staff, wrong)
    assert refused.status_code == 200 and b"errornote" in refused.content
    assert client.get("/admin/").status_code == 302
    throttle_reset(staff.user)

    code = totp_now(staff.user)
    accepted = sign_in(client, staff, code)
    assert accepted.status_code == 302 and accepted["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200 and b"backoffice-dashboard" in page.content

    client.post("/admin/logout/")
    replayed = sign_in(client, staff, code)  # the same time step again: django-otp refuses a replay
    assert replayed.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_the_password_alone_does_not_sign_in(client, otp_on, make_staff_member):
    staff = make_staff_member("support")
    response = client.post("/admin/login/?next=/admin/", {"username": staff.user.username, "password": staff.password})
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def _project_admins() -> list[admin.ModelAdmin]:
    return list(admin.site._registry.values())


def test_every_admin_action_names_the_permission_it_needs():
    missing = []
    for model_admin in _project_admins():
        for func, name, _ in model_admin._get_base_actions():
            if not getattr(func, "allowed_permissions", ()):
                missing.append(f"{model_admin.model._meta.label}.{name}")
    assert missing == []


def test_support_can_read_every_page_but_add_change_delete_or_act_on_none(make_staff_member):
    support = make_staff_member("support").user
    request = RequestFactory().get("/admin/")
    request.user = support
    for model_admin in _project_admins():
        label = model_admin.model._meta.label
        assert not model_admin.has_add_permission(request), label
        assert not model_admin.has_change_permission(request), label
        assert not model_admin.has_delete_permission(request), label
        actions = model_admin.get_actions(request)
        assert actions == {}, f"{label}: {list(actions)}"


def test_roles_see_only_their_pages(client, make_staff_member):
    reviewer = make_staff_member("kyc-reviewer").user
    client.force_login(reviewer)
    assert client.get("/admin/kyc/kycapplication/").status_code == 200
    assert client.get("/admin/accounts/withdrawal/").status_code == 403
    assert client.get("/admin/tokens/symbol/add/").status_code == 403


def test_dashboard_links_the_queues_each_role_may_open(client, make_user, make_staff_member):
    KycCountry.objects.create(code="SG", name="Singapore")
    for _ in range(2):
        kyc_application_submit(
            user=make_user(), level=1, country_code="SG", first_name="A", last_name="B", id_type="p", id_number="1"
        )
    reviewer = make_staff_member("kyc-reviewer").user
    client.force_login(reviewer)
    page = client.get("/admin/").content.decode()
    assert 'id="queue-kyc_pending"' in page and "/admin/kyc/kycapplication/?state__exact=submitted" in page
    assert '<span class="count">2</span>' in page
    assert "queue-withdrawals_reviewing" not in page  # not the reviewer's queue
    assert KycApplication.objects.count() == 2
    assert "chart-4.6.1.umd.min.js" in page and 'id="dashboard-data"' in page


def test_staff_without_the_dashboard_permission_get_the_plain_index(client, django_user_model):
    staff = django_user_model.objects.create_user(username="plain", password="x", is_staff=True)
    client.force_login(staff)
    page = client.get("/admin/")
    assert page.status_code == 200 and b"backoffice-dashboard" not in page.content


def test_chart_library_is_served_locally(client, django_user_model):
    staff = django_user_model.objects.create_superuser(username="root", password="x")
    client.force_login(staff)
    page = client.get("/admin/").content.decode()
    assert "cdn" not in page.lower()
    from django.contrib.staticfiles import finders

    assert finders.find("backoffice/vendor/chart-4.6.1.umd.min.js")
