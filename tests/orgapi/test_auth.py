"""Signed-request refusals of the Org API: each gets its own code and nothing runs (seed 001 §5, DESIGN §12)."""

from __future__ import annotations

import time

import pytest

from apps.apikeys.services import api_key_create
from apps.events.models import OutboxEvent
from apps.orgapi.models import OrgApiRequest
from apps.orgapi.views.user import LoginHistoryApi
from apps.users.models import User
from tests.orgapi.conftest import OrgClient

pytestmark = pytest.mark.django_db


def register(client: OrgClient, cid: str = "reg-1") -> object:
    return client.post("user/registerUser", {"client_order_id": cid, "email": "new@example.com"})


def nothing_registered() -> bool:
    return (
        not User.objects.filter(email="new@example.com").exists()
        and not OutboxEvent.objects.filter(type="user.register", payload__email="new@example.com").exists()
        and not OrgApiRequest.objects.exists()
    )


def test_a_signed_request_sees_its_own_organization(api, org):
    answer = api.get("getInfo")
    assert answer.status == 200
    assert answer.body["org_id"] == org.pk and answer.body["org_type"] == "BROKER"
    assert "code" not in answer.body


def test_missing_key(client, org_key):
    answer = register(OrgClient(client, None, org_key[1]))
    assert (answer.status, answer.code) == (400, 1001)
    assert nothing_registered()


def test_wrong_signature(client, org_key):
    answer = register(OrgClient(client, org_key[0], "not-the-secret"))
    assert (answer.status, answer.code) == (400, 1009)
    assert answer.body["msg"] == "Signature for this request is not valid"
    assert nothing_registered()


def test_missing_signature(api):
    answer = api.post("user/registerUser", {"client_order_id": "reg-1", "email": "new@example.com"}, sign=False)
    assert (answer.status, answer.code) == (400, 1008)
    assert nothing_registered()


def test_disallowed_ip(client, org_key):
    answer = register(OrgClient(client, *org_key, ip="10.9.8.7"))
    assert (answer.status, answer.code) == (400, 1005)
    assert nothing_registered()


def test_read_only_key_cannot_write_but_can_read(readonly_api):
    answer = register(readonly_api)
    assert (answer.status, answer.code) == (400, 1011)
    assert nothing_registered()
    assert readonly_api.get("getInfo").status == 200


def test_a_user_key_is_not_an_org_key(client, make_user):
    user_key, secret = api_key_create(user=make_user(), permissions=["read", "trade"], ip_whitelist=["127.0.0.1"])
    answer = register(OrgClient(client, user_key, secret))
    assert (answer.status, answer.code) == (400, 1002)
    assert nothing_registered()


def test_stale_timestamp(api):
    answer = api.post(
        "user/registerUser",
        {"client_order_id": "reg-1", "email": "new@example.com"},
        timestamp=int(time.time() * 1000) - 60_000,
    )
    assert (answer.status, answer.code) == (400, 1007)
    assert nothing_registered()


def test_a_replayed_signed_request_is_refused(api):
    stamp = int(time.time() * 1000)
    assert api.get("getInfo", timestamp=stamp).status == 200
    replay = api.get("getInfo", timestamp=stamp)
    assert (replay.status, replay.code) == (400, 1010)


def test_time_range_over_12_hours_is_refused(api, make_user):
    user = make_user()
    now = int(time.time() * 1000)
    answer = api.get("account/getBalanceFlow", {"uid": user.uid, "start_time": now - 13 * 3600_000, "end_time": now})
    assert (answer.status, answer.code) == (400, 1102)
    assert "12 hours" in answer.body["msg"]
    ok = api.get("account/getBalanceFlow", {"uid": user.uid, "start_time": now - 12 * 3600_000, "end_time": now})
    assert ok.status == 200


def test_polling_limit_answers_429_with_retry_after(api, make_user, monkeypatch):
    monkeypatch.setattr(LoginHistoryApi, "poll_limit", (2, 60.0))
    uid = make_user().uid
    assert [api.get("user/getLoginHistory", {"uid": uid}).status for _ in range(2)] == [200, 200]
    answer = api.get("user/getLoginHistory", {"uid": uid})
    assert (answer.status, answer.code) == (429, 1012)
    assert int(answer.headers["Retry-After"]) >= 1


def test_unexpected_failure_is_500_code_110(api, monkeypatch):
    from apps.orgapi.views import org

    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(org, "org_settings", boom)
    answer = api.get("getInfo")
    assert (answer.status, answer.body) == (500, {"code": 110, "msg": "Internal server error"})


def test_a_disabled_organization_is_refused(api, org):
    org.is_active = False
    org.save(update_fields=["is_active"])
    answer = register(api)
    assert (answer.status, answer.code) == (400, 1003)
    assert nothing_registered()
