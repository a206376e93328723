"""Languages: API errors in English, Simplified Chinese and Korean by Accept-Language or the user's
preference; registration keeps the request's language; the catalogs are complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from apps.core.errors import InsufficientBalance, NotFound
from apps.users.models import User
from tests.users.helpers import send_code

pytestmark = pytest.mark.django_db
JSON = "application/json"


def wrong_login(client, **headers):
    # A different account each time: django-axes locks a username+IP out after 5 failures.
    account = f"nobody{abs(hash(str(headers)))}@example.com"
    wrong = {"account": account, "password": "not the password"}
    response = client.post("/api/v1/auth/login", wrong, content_type=JSON, **headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "WRONG_CREDENTIALS"
    return body["msg"]


def test_error_message_follows_accept_language(client, org):
    assert wrong_login(client) == "Wrong account or password"
    assert wrong_login(client, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9") == "账号或密码错误"
    assert wrong_login(client, HTTP_ACCEPT_LANGUAGE="zh-Hans") == "账号或密码错误"
    assert (
        wrong_login(client, HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.8,en;q=0.5") == "계정 또는 비밀번호가 올바르지 않습니다"
    )
    assert wrong_login(client, HTTP_ACCEPT_LANGUAGE="fr-FR") == "Wrong account or password"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Message not found"), ("zh-hans", "消息不存在"), ("ko", "메시지를 찾을 수 없습니다")],
)
def test_error_message_follows_the_users_preference(client, make_user, language, expected):
    user = make_user(language=language)
    client.force_login(user, backend="apps.users.backends.ContactBackend")
    # The saved preference wins over whatever the browser asks for.
    response = client.get("/api/v1/messages/999999", HTTP_ACCEPT_LANGUAGE="fr, ko;q=0.1, zh;q=0.1")
    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "msg": expected}
    assert response["Content-Language"] == language


def test_announcement_not_found_in_korean(client, make_user):
    user = make_user(language="ko")
    client.force_login(user, backend="apps.users.backends.ContactBackend")
    response = client.get("/api/v1/announcements/999999")
    assert response.json() == {"code": "NOT_FOUND", "msg": "공지를 찾을 수 없습니다"}


def test_staff_follow_their_browser_language(client, org):
    staff = User.objects.create_user(username="ops", password="x", is_staff=True, language="ko")
    client.force_login(staff)
    response = client.get("/api/v1/announcements/999999", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.json()["msg"] == "公告不存在"


def test_broker_error_message_is_a_plain_str_in_the_active_language():
    from django.utils import translation

    with translation.override("ko"):
        error = InsufficientBalance()
    assert type(error.message) is str and error.message == "잔액이 부족합니다"
    with translation.override("zh-hans"):
        assert NotFound().message == "未找到"
    assert NotFound("custom detail").message == "custom detail"


def test_registration_keeps_the_request_language(client, org, django_capture_on_commit_callbacks):
    code = send_code(client, django_capture_on_commit_callbacks, purpose="register", target="kim@example.com")
    response = client.post(
        "/api/v1/auth/register",
        {"target": "kim@example.com", "code": code, "password": "correct horse battery staple"},
        content_type=JSON,
        HTTP_ACCEPT_LANGUAGE="ko-KR",
    )
    assert response.status_code == 201, response.content
    assert response.json()["language"] == "ko"


@pytest.mark.parametrize("locale", ["zh_Hans", "ko"])
def test_catalog_is_fully_translated(locale):
    po = Path(settings.BASE_DIR) / "locale" / locale / "LC_MESSAGES" / "django.po"
    assert (po.with_suffix(".mo")).exists(), "compile with manage.py compilemessages"
    untranslated = []
    entries = po.read_text(encoding="utf-8").split("\n\n")[1:]  # the first entry is the header
    for entry in entries:
        lines = [line for line in entry.splitlines() if line and not line.startswith("#~")]
        if not lines:
            continue
        if any(line.startswith("#,") and "fuzzy" in line for line in lines):
            untranslated.append(entry)
            continue
        msgstr = [line for line in lines if line.startswith("msgstr")]
        # A msgstr "" followed by continuation lines is a wrapped translation, not an empty one.
        if msgstr and all(line.endswith('""') for line in msgstr) and not lines[-1].startswith('"'):
            untranslated.append(entry)
    assert not untranslated, f"{len(untranslated)} untranslated in {po}:\n" + "\n\n".join(untranslated[:5])
