"""The KYC review queue in the admin: approve / reject actions and private documents."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission

from apps.core.errors import PermissionDenied
from apps.events.models import OutboxEvent
from apps.kyc.models import KycApplication, KycCountry, KycState
from apps.kyc.services import Upload, kyc_application_approve, kyc_application_submit
from apps.users.models import SecurityRecord, User
from tests.users.helpers import PNG

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/kyc/kycapplication/"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.KYC_DOCUMENT_ROOT = tmp_path / "kyc"
    KycCountry.objects.create(code="SG", name="Singapore")


def staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username=username, password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="kyc", codename__in=codenames))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def reviewer() -> User:
    return staff("reviewer", "view_kycapplication", "change_kycapplication", "review_kycapplication")


def basic(user: User) -> KycApplication:
    return kyc_application_submit(
        user=user, level=1, country_code="SG", first_name="Ada", last_name="L", id_type="passport", id_number="1"
    )


def with_documents(user: User) -> KycApplication:
    user.kyc_level = 1
    user.save()
    return kyc_application_submit(
        user=user,
        level=2,
        country_code="SG",
        documents=[Upload("id_front", io.BytesIO(PNG)), Upload("selfie", io.BytesIO(PNG))],
    )


def test_approve_action_raises_the_level(client, make_user, reviewer):
    user = make_user()
    application = basic(user)
    client.force_login(reviewer)
    response = client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [application.pk], "reason": ""}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    user.refresh_from_db()
    assert application.state == KycState.APPROVED and application.reviewer == reviewer
    assert user.kyc_level == 1
    event = OutboxEvent.objects.get(user=user, type="user.kyc.result")
    assert event.payload["state"] == "approved"
    assert SecurityRecord.objects.filter(user=user, action="kyc_level_set", acting_user=reviewer).exists()


def test_reject_action_needs_a_reason(client, make_user, reviewer):
    user = make_user()
    application = basic(user)
    client.force_login(reviewer)
    client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": [application.pk], "reason": ""})
    application.refresh_from_db()
    assert application.state == KycState.SUBMITTED
    client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": [application.pk], "reason": "blurry"})
    application.refresh_from_db()
    user.refresh_from_db()
    assert application.state == KycState.REJECTED and application.reason == "blurry"
    assert application.reviewer == reviewer and user.kyc_level == 0
    # the user sees the reason and may apply again
    client.force_login(user, backend="apps.users.backends.ContactBackend")
    assert client.get("/api/v1/kyc").json()["applications"][0]["reason"] == "blurry"
    assert basic(user).state == KycState.SUBMITTED


def test_review_needs_the_reviewer_permission(client, make_user):
    viewer = staff("viewer", "view_kycapplication", "change_kycapplication")
    application = basic(make_user())
    with pytest.raises(PermissionDenied):
        kyc_application_approve(application=application, acting_user=viewer)
    client.force_login(viewer)
    page = client.get(CHANGELIST)
    assert page.status_code == 200 and b"approve_selected" not in page.content
    application.refresh_from_db()
    assert application.state == KycState.SUBMITTED


def test_queue_lists_pending_first(client, make_user, reviewer):
    done = basic(make_user())
    kyc_application_approve(application=done, acting_user=reviewer)
    pending = basic(make_user())
    client.force_login(reviewer)
    page = client.get(CHANGELIST)
    ids = [a.pk for a in page.context["cl"].result_list]
    assert ids == [pending.pk, done.pk]
    filtered = client.get(CHANGELIST, {"level": 1, "country__code__exact": "SG", "age": "1d", "state": "submitted"})
    assert [a.pk for a in filtered.context["cl"].result_list] == [pending.pk]


def test_documents_are_shown_to_reviewers_only(client, make_user, reviewer):
    user = make_user()
    application = with_documents(user)
    document = application.documents.first()
    url = f"{CHANGELIST}{application.pk}/document/{document.pk}/"
    # the applicant (not staff) is sent to the admin login
    client.force_login(user, backend="apps.users.backends.ContactBackend")
    denied = client.get(url)
    assert denied.status_code == 302 and "/admin/login/" in denied["Location"]
    # staff without the reviewer permission: forbidden, and the page doesn't list documents
    viewer = staff("viewer", "view_kycapplication")
    client.force_login(viewer)
    assert client.get(url).status_code == 403
    assert url.encode() not in client.get(f"{CHANGELIST}{application.pk}/change/").content
    # a reviewer sees the links and gets the bytes
    client.force_login(reviewer)
    assert url.encode() in client.get(f"{CHANGELIST}{application.pk}/change/").content
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_bootstrap_grants_the_reviewer_group_the_review_permission(db, settings, tmp_path):
    from io import StringIO

    from django.contrib.auth.models import Group
    from django.core.management import call_command

    settings.BASE_DIR = tmp_path
    call_command("bootstrap", stdout=StringIO())
    group = Group.objects.get(name="KYC reviewer")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_kycapplication", "change_kycapplication", "review_kycapplication"} <= codenames
