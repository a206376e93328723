"""In-site messages: personal and broadcast, per-user read state, paging, counts, isolation."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.content import selectors, services
from apps.content.models import Message, MessageRead
from apps.core.errors import InvalidParameter, NotFound, PermissionDenied

pytestmark = pytest.mark.django_db


def send(org, title, user=None, **kwargs):
    return services.message_send(organization=org, title=title, body=f"{title} body", user=user, **kwargs)


def listed(client, query=""):
    response = client.get(f"/api/v1/messages{query}")
    assert response.status_code == 200, response.content
    return [(row["id"], row["read"]) for row in response.json()]


def test_broadcast_is_one_row_with_read_state_per_user(client, org, make_user, login):
    alice, bob = make_user(), make_user()
    broadcast = send(org, "Hello everyone")
    assert Message.objects.count() == 1 and MessageRead.objects.count() == 0
    login(alice)
    assert listed(client) == [(broadcast.pk, False)]
    assert client.get("/api/v1/messages/unread-count").json() == {"unread": 1}
    detail = client.get(f"/api/v1/messages/{broadcast.pk}").json()
    assert detail["read"] is True and detail["broadcast"] is True and detail["body"] == "Hello everyone body"
    assert listed(client) == [(broadcast.pk, True)]
    assert client.get("/api/v1/messages/unread-count").json() == {"unread": 0}
    # Bob's copy is still unread: read state is per user.
    assert selectors.message_unread_count(user=bob) == 1
    assert Message.objects.count() == 1


def test_personal_messages_are_private(client, org, make_user, login):
    alice, bob = make_user(), make_user()
    for_bob = send(org, "Bob only", user=bob)
    login(alice)
    assert listed(client) == []
    assert client.get(f"/api/v1/messages/{for_bob.pk}").status_code == 404
    assert client.post(f"/api/v1/messages/{for_bob.pk}/read").status_code == 404
    assert selectors.message_unread_count(user=bob) == 1


def test_other_organization_and_newcomers_do_not_see_a_broadcast(org, other_org, make_user):
    ours = make_user()
    theirs = make_user(organization=other_org)
    send(org, "Ours")
    newcomer = make_user()  # joined after the broadcast was sent
    assert selectors.message_unread_count(user=ours) == 1
    assert selectors.message_unread_count(user=theirs) == 0
    assert selectors.message_unread_count(user=newcomer) == 0


def test_broadcast_to_a_language(org, make_user):
    korean, english = make_user(language="ko"), make_user()
    send(org, "한국어 공지", language="ko")
    assert selectors.message_unread_count(user=korean) == 1
    assert selectors.message_unread_count(user=english) == 0


def test_mark_read_is_idempotent_and_mark_all_moves_the_cursor(client, org, make_user, login):
    user = make_user()
    first, second, third = send(org, "1"), send(org, "2", user=user), send(org, "3")
    login(user)
    assert client.post(f"/api/v1/messages/{second.pk}/read").json()["read"] is True
    assert client.post(f"/api/v1/messages/{second.pk}/read").status_code == 200
    assert MessageRead.objects.filter(user=user).count() == 1
    assert listed(client, "?read=false") == [(third.pk, False), (first.pk, False)]
    assert listed(client, "?read=true") == [(second.pk, True)]
    assert client.post("/api/v1/messages/read-all").json() == {"marked": 2}
    assert listed(client) == [(third.pk, True), (second.pk, True), (first.pk, True)]
    assert MessageRead.objects.filter(user=user).count() == 0  # the cursor says it all
    fourth = send(org, "4")
    assert listed(client, "?read=false") == [(fourth.pk, False)]
    assert client.get("/api/v1/messages/unread-count").json() == {"unread": 1}
    assert client.post("/api/v1/messages/read-all").json() == {"marked": 1}


def test_paging_by_from_id_and_kind_filter(client, org, make_user, login):
    user = make_user()
    sent = [send(org, f"m{i}", user=user, kind="activity" if i % 2 else "system") for i in range(5)]
    login(user)
    newest = [m.pk for m in reversed(sent)]
    assert [i for i, _ in listed(client, "?limit=2")] == newest[:2]
    assert [i for i, _ in listed(client, f"?limit=2&from_id={newest[1]}")] == newest[2:4]
    assert [i for i, _ in listed(client, f"?to_id={newest[1]}")] == [newest[0]]
    assert [i for i, _ in listed(client, "?kind=activity")] == [sent[3].pk, sent[1].pk]
    assert client.get("/api/v1/messages?kind=nope").json()["code"] == "INVALID_PARAMETER"
    assert client.get("/api/v1/messages?read=perhaps").json()["code"] == "INVALID_PARAMETER"


def test_list_query_count_does_not_grow_with_the_page(client, org, make_user, login):
    user = make_user()
    for i in range(3):
        send(org, f"b{i}")
    login(user)
    client.get("/api/v1/messages")  # warm the session
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/messages?limit=1")
    for i in range(20):
        send(org, f"c{i}", user=user)
    with CaptureQueriesContext(connection) as large:
        client.get("/api/v1/messages?limit=20")
    assert len(large.captured_queries) == len(small.captured_queries)


def test_message_kinds_are_named_in_the_readers_language(client):
    rows = client.get("/api/v1/messages/kinds", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert {"kind": "security", "name": "安全"} in rows
    rows = client.get("/api/v1/messages/kinds").json()
    assert {"kind": "security", "name": "Security"} in rows


def test_messages_need_login(client):
    response = client.get("/api/v1/messages")
    assert response.status_code in (401, 403)


def test_send_rules(org, other_org, make_user, make_staff):
    stranger = make_user(organization=other_org)
    with pytest.raises(InvalidParameter):
        send(org, "wrong org", user=stranger)
    with pytest.raises(InvalidParameter):
        send(org, "bad kind", kind="spam")
    with pytest.raises(PermissionDenied):
        send(org, "staff without permission", acting_user=make_staff())
    assert send(org, "staff", acting_user=make_staff("content.add_message")).created_by is not None
    with pytest.raises(NotFound):
        services.message_mark_read(user=make_user(), message_id=123456)
