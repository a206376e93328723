"""Announcements: drafts, publishing with a window, language, pinning, pop-up; services and User API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.content import services
from apps.content.models import AnnouncementStatus
from apps.core.errors import InvalidParameter, PermissionDenied

pytestmark = pytest.mark.django_db


def make(org, publisher, title="Maintenance", publish=True, **kwargs):
    window = {k: kwargs.pop(k) for k in ("publish_at", "unpublish_at") if k in kwargs and publish}
    announcement = services.announcement_create(
        organization=org, title=title, body=f"{title} body", acting_user=publisher, **kwargs
    )
    if publish:
        announcement = services.announcement_publish(announcement=announcement, acting_user=publisher, **window)
    return announcement


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()]


def test_draft_is_invisible_until_published(client, org, publisher):
    draft = make(org, publisher, publish=False)
    assert draft.status == AnnouncementStatus.DRAFT
    assert ids(client.get("/api/v1/announcements")) == []
    assert client.get(f"/api/v1/announcements/{draft.pk}").status_code == 404
    published = services.announcement_publish(announcement=draft, acting_user=publisher)
    assert published.status == AnnouncementStatus.PUBLISHED and published.published_by == publisher
    assert ids(client.get("/api/v1/announcements")) == [draft.pk]
    detail = client.get(f"/api/v1/announcements/{draft.pk}").json()
    assert detail["title"] == "Maintenance" and detail["body"] == "Maintenance body"
    assert detail["url"].endswith(f"/content/announcements/{draft.pk}")


def test_publish_window_bounds_visibility(client, org, publisher, time_machine):
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    later = make(org, publisher, "Later", publish_at=now + timedelta(hours=1), unpublish_at=now + timedelta(hours=2))
    assert ids(client.get("/api/v1/announcements")) == []
    time_machine.move_to(now + timedelta(minutes=61), tick=False)
    assert ids(client.get("/api/v1/announcements")) == [later.pk]
    time_machine.move_to(now + timedelta(hours=2), tick=False)
    assert ids(client.get("/api/v1/announcements")) == []


def test_withdraw_takes_it_down(client, org, publisher):
    announcement = make(org, publisher)
    services.announcement_withdraw(announcement=announcement, acting_user=publisher)
    assert ids(client.get("/api/v1/announcements")) == []
    with pytest.raises(Exception, match="Only a published"):
        services.announcement_withdraw(announcement=announcement, acting_user=publisher)


def test_publishing_needs_the_permission(org, make_staff, publisher):
    draft = make(org, publisher, publish=False)
    clerk = make_staff("content.change_announcement")
    with pytest.raises(PermissionDenied):
        services.announcement_publish(announcement=draft, acting_user=clerk)
    with pytest.raises(PermissionDenied):
        services.announcement_publish(announcement=draft, acting_user=None)
    published = services.announcement_publish(announcement=draft, acting_user=publisher)
    # Editing what users already see is publishing too.
    with pytest.raises(PermissionDenied):
        services.announcement_update(
            announcement=published,
            acting_user=clerk,
            title="Edited",
            body="x",
            language="",
            pinned=False,
            popup=False,
            publish_at=published.publish_at,
            unpublish_at=None,
        )


def test_window_must_be_ordered_and_not_over(org, publisher):
    now = timezone.now()
    with pytest.raises(InvalidParameter):
        make(org, publisher, publish=False, publish_at=now, unpublish_at=now - timedelta(hours=1))
    draft = make(org, publisher, publish=False)
    with pytest.raises(InvalidParameter, match="already ended"):
        services.announcement_publish(
            announcement=draft,
            acting_user=publisher,
            publish_at=now - timedelta(days=2),
            unpublish_at=now - timedelta(days=1),
        )


def test_language_by_accept_language_user_preference_and_parameter(client, org, publisher, make_user, login):
    everyone = make(org, publisher, "For all")
    korean = make(org, publisher, "Korean", language="ko")
    chinese = make(org, publisher, "Chinese", language="zh-hans")
    assert set(ids(client.get("/api/v1/announcements"))) == {everyone.pk}
    assert set(ids(client.get("/api/v1/announcements", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9"))) == {
        everyone.pk,
        korean.pk,
    }
    assert set(ids(client.get("/api/v1/announcements?language=zh-hans"))) == {everyone.pk, chinese.pk}
    login(make_user(language="zh-hans"))
    # The logged-in user's preference wins over the browser's language.
    assert set(ids(client.get("/api/v1/announcements", HTTP_ACCEPT_LANGUAGE="ko"))) == {everyone.pk, chinese.pk}


def test_pinned_filter_and_from_id_paging(client, org, publisher):
    rows = [make(org, publisher, f"A{i}", pinned=i == 1) for i in range(5)]
    newest_first = [a.pk for a in reversed(rows)]
    assert ids(client.get("/api/v1/announcements?limit=2")) == newest_first[:2]
    assert ids(client.get(f"/api/v1/announcements?limit=2&from_id={newest_first[1]}")) == newest_first[2:4]
    assert ids(client.get("/api/v1/announcements?pinned=true")) == [rows[1].pk]
    assert client.get("/api/v1/announcements?pinned=maybe").json()["code"] == "INVALID_PARAMETER"


def test_popup_is_the_latest_popup_announcement(client, org, publisher, time_machine):
    assert client.get("/api/v1/announcements/popup").json() == {"announcement": None}
    now = timezone.now()
    make(org, publisher, "Not a popup")
    make(org, publisher, "Old popup", popup=True, publish_at=now - timedelta(hours=2))
    current = make(org, publisher, "New popup", popup=True, publish_at=now - timedelta(hours=1))
    body = client.get("/api/v1/announcements/popup").json()["announcement"]
    assert body["id"] == current.pk and body["body"] == "New popup body" and body["popup"] is True


def test_other_organizations_announcements_stay_apart(client, org, other_org, publisher, make_user, login):
    ours = make(org, publisher, "Ours")
    theirs = make(other_org, publisher, "Theirs")
    assert ids(client.get(f"/api/v1/announcements?org_id={other_org.pk}")) == [theirs.pk]
    login(make_user())
    assert ids(client.get(f"/api/v1/announcements?org_id={other_org.pk}")) == [ours.pk]
    assert client.get(f"/api/v1/announcements/{theirs.pk}").status_code == 404


def test_announcement_page_renders_published_only(client, org, publisher):
    published = make(org, publisher, "Listing BTC", language="ko")
    draft = make(org, publisher, "Secret draft", publish=False)
    page = client.get(f"/content/announcements/{published.pk}", HTTP_ACCEPT_LANGUAGE="ko")
    assert page.status_code == 200
    assert "Listing BTC" in page.content.decode() and "공지" in page.content.decode()
    assert client.get(f"/content/announcements/{draft.pk}").status_code == 404
