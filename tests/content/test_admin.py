"""Staff pages: publishing an announcement with a window, sending messages, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.content.models import Announcement, AnnouncementStatus, Message

pytestmark = pytest.mark.django_db

ADD = "/admin/content/announcement/add/"
CHANGELIST = "/admin/content/announcement/"


def form(org, **extra):
    now = timezone.now()
    data = {
        "organization": org.pk,
        "title": "Scheduled maintenance",
        "body": "Trading pauses at 02:00 UTC.",
        "language": "",
        "publish_at_0": now.strftime("%Y-%m-%d"),
        "publish_at_1": now.strftime("%H:%M:%S"),
        "unpublish_at_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
        "unpublish_at_1": now.strftime("%H:%M:%S"),
    }
    data.update(extra)
    return data


def test_staff_publishes_an_announcement_with_a_window(client, org, publisher):
    client.force_login(publisher)
    assert b'name="publish"' in client.get(ADD).content
    response = client.post(ADD, form(org, publish="on"))
    assert response.status_code == 302, response.content.decode()[:3000]
    announcement = Announcement.objects.get()
    assert announcement.status == AnnouncementStatus.PUBLISHED
    assert announcement.published_by == publisher and announcement.created_by == publisher
    assert announcement.unpublish_at - announcement.publish_at == timedelta(days=1)
    assert [a["id"] for a in client.get("/api/v1/announcements").json()] == [announcement.pk]
    history = client.get(f"/admin/content/announcement/{announcement.pk}/history/")
    assert history.status_code == 200


def test_without_the_publish_permission_only_drafts(client, org, make_staff):
    clerk = make_staff("content.add_announcement", "content.change_announcement", "content.view_announcement")
    client.force_login(clerk)
    assert b'name="publish"' not in client.get(ADD).content
    response = client.post(ADD, form(org, publish="on"))  # the field is not on their form: ignored
    assert response.status_code == 302
    draft = Announcement.objects.get()
    assert draft.status == AnnouncementStatus.DRAFT
    page = client.get(CHANGELIST)
    assert b"publish_selected" not in page.content
    client.post(CHANGELIST, {"action": "publish_selected", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == AnnouncementStatus.DRAFT


def test_publish_and_withdraw_actions(client, org, publisher):
    client.force_login(publisher)
    client.post(ADD, form(org))
    draft = Announcement.objects.get()
    assert draft.status == AnnouncementStatus.DRAFT
    client.post(CHANGELIST, {"action": "publish_selected", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == AnnouncementStatus.PUBLISHED
    client.post(CHANGELIST, {"action": "withdraw_selected", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == AnnouncementStatus.WITHDRAWN


def test_ended_window_is_refused_on_the_form(client, org, publisher):
    client.force_login(publisher)
    past = timezone.now() - timedelta(days=3)
    data = form(
        org,
        publish="on",
        publish_at_0=past.strftime("%Y-%m-%d"),
        unpublish_at_0=(past + timedelta(days=1)).strftime("%Y-%m-%d"),
    )
    response = client.post(ADD, data)
    assert response.status_code == 200 and "already ended" in response.content.decode()
    assert not Announcement.objects.exists()


def test_staff_sends_a_message_to_one_user_and_to_all(client, org, publisher, make_user):
    user = make_user()
    client.force_login(publisher)
    add = "/admin/content/message/add/"
    base = {"organization": org.pk, "kind": "system", "title": "Hi", "body": "Welcome", "language": ""}
    assert client.post(add, {**base, "recipient_uid": user.uid}).status_code == 302
    assert client.post(add, base).status_code == 302
    assert client.post(add, {**base, "recipient_uid": 1}).status_code == 200  # no such user: form error
    personal, broadcast = Message.objects.order_by("pk")
    assert personal.user == user and personal.created_by == publisher
    assert broadcast.user is None
    assert client.get(f"/admin/content/message/{personal.pk}/change/").status_code == 200


def test_published_announcement_is_read_only_without_the_publish_permission(client, org, publisher, make_staff):
    from apps.content import services

    live = services.announcement_publish(
        announcement=services.announcement_create(organization=org, title="Live", body="x", acting_user=publisher),
        acting_user=publisher,
    )
    clerk = make_staff("content.add_announcement", "content.change_announcement", "content.view_announcement")
    client.force_login(clerk)
    change = f"/admin/content/announcement/{live.pk}/change/"
    assert client.get(change).status_code == 200
    assert client.post(change, form(org, title="Defaced")).status_code == 403
    live.refresh_from_db()
    assert live.title == "Live"
