"""Registering applications (command, admin approval) and the User API's "apps I granted"."""

from __future__ import annotations

import base64
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from oauth2_provider.models import AccessToken, Application

from apps.oauth.models import AppRegistration
from tests.oauth.conftest import REDIRECT_URI

pytestmark = pytest.mark.django_db


def _command(*args: str) -> dict:
    out = StringIO()
    call_command("create_oauth_app", *args, stdout=out)
    return json.loads(out.getvalue())


def test_create_oauth_app_prints_the_credentials_once(org):
    result = _command("--name", "Tracker", "--redirect-uri", REDIRECT_URI, "--scopes", "userInfo accountInfo")
    assert set(result) >= {"client_id", "client_secret"}
    assert result["scopes"] == ["userInfo", "accountInfo"] and result["organization_id"] == org.pk
    application = Application.objects.get(client_id=result["client_id"])
    assert application.client_type == "confidential" and application.redirect_uris == REDIRECT_URI
    assert application.client_secret != result["client_secret"]  # stored hashed
    registration = application.registration
    assert registration.is_approved and registration.allowed_scopes == "userInfo accountInfo"


def test_create_oauth_app_public_client_has_no_secret(org, other_org):
    result = _command(
        "--name", "Mobile", "--redirect-uri", "http://127.0.0.1/callback", "--scopes", "trade", "--public",
        "--organization", str(other_org.pk),
    )  # fmt: skip
    assert result["client_secret"] is None and result["client_type"] == "public"
    assert AppRegistration.objects.get(application__client_id=result["client_id"]).organization == other_org


def test_create_oauth_app_refuses_unknown_scopes(org):
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "create_oauth_app", "--name", "X", "--redirect-uri", REDIRECT_URI, "--scopes", "userInfo admin", stdout=out
        )
    assert json.loads(out.getvalue())["error"] == "INVALID_PARAMETER"
    assert not Application.objects.exists()


def test_command_secret_authenticates_at_the_token_endpoint(org, client):
    result = _command("--name", "Tracker", "--redirect-uri", REDIRECT_URI, "--scopes", "userInfo")
    basic = base64.b64encode(f"{result['client_id']}:{result['client_secret']}".encode()).decode()
    answer = client.post(
        "/api/v2/oauth2/token",
        {"grant_type": "authorization_code", "code": "not-a-code", "redirect_uri": REDIRECT_URI, "code_verifier": "v"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    # The client authenticated (so the bad code is what fails), unlike with a wrong secret.
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="pw-for-tests-only")
    client.force_login(user)
    return client, user


def test_staff_register_in_admin_then_approve(staff_client, org):
    client, staff = staff_client
    add = client.get(reverse("admin:oauth2_provider_application_add"))
    assert add.status_code == 200 and "allowed_scopes" in add.content.decode()
    response = client.post(
        reverse("admin:oauth2_provider_application_add"),
        {
            "name": "Partner App",
            "client_id": "partner-app-client-id",
            "client_type": "confidential",
            "client_secret": "s3cret-value-for-tests-only-0123456789",
            "hash_client_secret": "on",
            "redirect_uris": REDIRECT_URI,
            "registration-TOTAL_FORMS": "1",
            "registration-INITIAL_FORMS": "0",
            "registration-MIN_NUM_FORMS": "1",
            "registration-MAX_NUM_FORMS": "1",
            "registration-0-organization": str(org.pk),
            "registration-0-allowed_scopes": ["userInfo", "tradeInfo"],
            "registration-0-description": "Shows your portfolio",
            "registration-0-homepage": "https://partner.example",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    application = Application.objects.get(client_id="partner-app-client-id")
    assert application.authorization_grant_type == "authorization-code"
    registration = application.registration
    assert registration.allowed_scopes == "userInfo tradeInfo" and not registration.is_approved

    client.post(
        reverse("admin:oauth2_provider_application_changelist"),
        {"action": "approve", "_selected_action": [application.pk]},
    )
    registration.refresh_from_db()
    assert registration.is_approved and registration.approved_by == staff and registration.approved_at
    listing = client.get(reverse("admin:oauth2_provider_application_changelist")).content.decode()
    assert "Partner App" in listing and "userInfo tradeInfo" in listing


def test_admin_suspend_revokes_tokens(staff_client, app, make_user, issue_token):
    client, _ = staff_client
    application, _ = app
    issue_token(make_user(), application, "userInfo")
    client.post(
        reverse("admin:oauth2_provider_application_changelist"),
        {"action": "suspend", "_selected_action": [application.pk]},
    )
    application.registration.refresh_from_db()
    assert not application.registration.is_approved
    assert not AccessToken.objects.filter(application=application).exists()


def test_user_lists_and_revokes_granted_apps(app, make_app, make_user, issue_token, api, client):
    application, _ = app
    other, _ = make_app(name="Second App")
    user = make_user()
    token = issue_token(user, application, "userInfo tradeInfo")
    issue_token(user, other, "accountInfo")
    issue_token(make_user(), other, "trade")  # someone else's grant

    client.force_login(user)
    listed = client.get("/api/v1/me/oauth-grants").json()
    assert {row["client_id"]: [s["scope"] for s in row["scopes"]] for row in listed} == {
        application.client_id: ["userInfo", "tradeInfo"],
        other.client_id: ["accountInfo"],
    }
    assert listed[0]["authorized_at"] > 0 and listed[0]["scopes"][0]["description"]

    csrf = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    revoked = client.delete(f"/api/v1/me/oauth-grants/{application.client_id}", HTTP_X_CSRFTOKEN=csrf)
    assert revoked.status_code == 200 and revoked.json() == {"ok": True}
    assert api("GET", "user/getInfo", token).status_code == 401
    assert [row["client_id"] for row in client.get("/api/v1/me/oauth-grants").json()] == [other.client_id]
    assert user.security_records.filter(action="oauth_revoke").count() == 1

    again = client.delete(f"/api/v1/me/oauth-grants/{application.client_id}", HTTP_X_CSRFTOKEN=csrf)
    assert again.status_code == 404 and again.json()["code"] == "NOT_FOUND"


def test_grants_api_needs_login(client):
    assert client.get("/api/v1/me/oauth-grants").status_code in (401, 403)
