"""Messages that services raise explicitly (with interpolated values) come back in the request's
language on the User API, the user's saved language wins over ``Accept-Language``, and every catalog
entry keeps its msgid's placeholders.

The default messages of ``apps/core/errors.py`` are covered by ``tests/content/test_languages.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from apps.users.verification import contact_name

JSON = "application/json"
LOCALES = ["zh_Hans", "ko"]
# Python named placeholders (``%(tick)s``, ``%(address)r``) and brace placeholders (``{name}``).
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|\{\w+\}")

OFF_TICK = {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "price": "100.005", "quantity": "1"}
OFF_TICK_MESSAGES = {
    "en": "price must be a multiple of 0.01",
    "zh-hans": "价格必须是 0.01 的整数倍",
    "ko": "가격은 0.01의 배수여야 합니다",
}
OFF_MERGE_MESSAGES = {
    "en": "merge must be one of 0.01, 0.1, 1, 10",
    "zh-hans": "merge 必须是以下之一：0.01, 0.1, 1, 10",
    "ko": "merge는 다음 중 하나여야 합니다: 0.01, 0.1, 1, 10",
}


def login(user) -> Client:
    client = Client()
    client.force_login(user, backend="apps.users.backends.ContactBackend")
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "language"),
    [(None, "en"), ("zh-hans", "zh-hans"), ("zh-CN,zh;q=0.9", "zh-hans"), ("ko-KR,ko;q=0.8", "ko"), ("fr", "en")],
)
def test_interpolated_message_follows_accept_language(client, org, btcusdt, accept_language, language):
    # Without a logged-in end user (whose saved language decides), Accept-Language picks the language.
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    response = client.get("/api/v1/market/depth", {"symbol": "BTCUSDT", "merge": "0.5"}, **headers)
    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_PARAMETER", "msg": OFF_MERGE_MESSAGES[language]}
    assert response["Content-Language"] == language


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "accept_language"),
    [("en", "zh-hans"), ("zh-hans", "ko-KR,ko;q=0.9"), ("ko", "zh-CN,zh;q=0.9"), ("ko", None)],
)
def test_interpolated_order_message_in_the_users_saved_language(make_user, btcusdt, language, accept_language):
    client = login(make_user(language=language))
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    response = client.post("/api/v1/orders", OFF_TICK, content_type=JSON, **headers)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "PRECISION_TOO_HIGH"
    assert response.json()["msg"] == OFF_TICK_MESSAGES[language]
    assert response["Content-Language"] == language


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The minimum withdrawal is 0.0005 BTC and must exceed the fee 0.0005"),
        ("zh-hans", "最小提币数量为 0.0005 BTC，且必须大于手续费 0.0005"),
        ("ko", "최소 출금액은 0.0005 BTC이며, 수수료 0.0005보다 많아야 합니다"),
    ],
)
def test_withdrawal_below_the_minimum_in_the_users_language(make_user, fund, tokens, language, expected):
    user = make_user(language=language)
    fund(user, "BTC", "1")
    response = login(user).post(
        "/api/v1/withdrawals",
        {"token": "BTC", "amount": "0.0001", "address": "bc1qdestination"},
        content_type=JSON,
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400, response.content
    assert response.json() == {"code": "AMOUNT_BELOW_MINIMUM", "msg": expected}


def test_contact_field_names_are_words_of_the_active_language():
    with translation.override("zh-hans"):
        assert (contact_name("email"), contact_name("phone")) == ("邮箱", "手机号")
    with translation.override("ko"):
        assert (contact_name("email"), contact_name("phone")) == ("이메일", "휴대전화 번호")
    assert (contact_name("email"), contact_name("phone")) == ("email", "phone")


@pytest.mark.parametrize("language", ["zh-hans", "ko"])
def test_kyc_refusal_keeps_the_word_kyc(language):
    # The BGE API tells a KYC refusal of order_validate from other refusals by "KYC" in the message
    # (apps/bgeapi/errors.py), whatever the request's language.
    with translation.override(language):
        assert "KYC" in translation.gettext("KYC level %(level)s is required to trade")


def catalog_entries(po: Path) -> list[tuple[str, str, list[str]]]:
    """``(msgctxt + msgid, msgstr, flags)`` of every entry but the header and obsolete ones."""
    entries = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        flags: list[str] = []
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags += [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
            else:
                keyword, _, value = line.partition(" ")
                current = keyword
                fields[current] = ast.literal_eval(value)
        if fields.get("msgid"):
            key = f"{fields.get('msgctxt', '')}\x04{fields['msgid']}"
            entries.append((key, fields.get("msgstr", fields.get("msgstr[0]", "")), flags))
    return entries


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_translations_keep_their_placeholders(locale):
    po = Path(settings.BASE_DIR) / "locale" / locale / "LC_MESSAGES" / "django.po"
    entries = catalog_entries(po)
    assert entries
    problems = []
    for key, msgstr, flags in entries:
        msgid = key.partition("\x04")[2]
        if not msgstr.strip() or "fuzzy" in flags:
            problems.append(f"untranslated: {msgid!r}")
        elif sorted(PLACEHOLDER.findall(msgstr)) != sorted(PLACEHOLDER.findall(msgid)):
            problems.append(f"placeholders differ: {msgid!r} → {msgstr!r}")
    assert not problems, f"{po}:\n" + "\n".join(problems)


def test_catalogs_carry_the_same_messages():
    base = Path(settings.BASE_DIR) / "locale"
    zh_hans, ko = (
        {key for key, _, _ in catalog_entries(base / code / "LC_MESSAGES" / "django.po")} for code in LOCALES
    )
    assert zh_hans == ko
