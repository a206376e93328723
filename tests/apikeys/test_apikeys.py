"""API keys: creation rules, encrypted secrets, every authentication refusal, commands, User API."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.apikeys import auth
from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_create, api_key_secret, api_key_update, org_api_key_create
from apps.core import errors
from apps.core.signing import bge_sign, bhex_sign
from tests.users import helpers
from tests.users.helpers import bind_totp, totp_now

user_client = helpers.user_client

pytestmark = pytest.mark.django_db
JSON = "application/json"


def signed_query(secret: str, **params: Any) -> bytes:
    raw = "&".join(f"{k}={v}" for k, v in params.items()).encode()
    return raw + b"&signature=" + bhex_sign(secret, raw).encode()


def test_create_key_has_64_char_key_and_encrypted_secret(make_user):
    user = make_user()
    api_key, secret = api_key_create(user=user, permissions=["trade"], ip_whitelist=["10.0.0.1"])
    assert len(api_key.key) == 64 and len(secret) == 64
    assert secret not in api_key.secret_encrypted and api_key_secret(api_key) == secret
    assert api_key.permissions == ["read", "trade"]  # read is implied, withdraw off unless asked
    assert api_key.expires_at is None  # whitelisted keys do not expire


def test_key_without_whitelist_expires_after_180_days(make_user):
    api_key, _ = api_key_create(user=make_user())
    assert api_key.expires_at is not None
    assert abs((api_key.expires_at - timezone.now()) - timedelta(days=180)) < timedelta(minutes=1)
    api_key_update(api_key=api_key, ip_whitelist=["192.168.0.0/24"])
    assert api_key.expires_at is None


def test_whitelist_and_permission_validation(make_user):
    user = make_user()
    with pytest.raises(errors.InvalidParameter):
        api_key_create(user=user, ip_whitelist=[f"10.0.0.{i}" for i in range(11)])
    with pytest.raises(errors.InvalidParameter):
        api_key_create(user=user, ip_whitelist=["not-an-ip"])
    with pytest.raises(errors.InvalidParameter):
        api_key_create(user=user, permissions=["admin"])
    assert ApiKey.objects.count() == 0


def test_at_most_50_keys_per_user(make_user):
    user = make_user()
    for _ in range(50):
        api_key_create(user=user)
    with pytest.raises(errors.ApiKeyLimitReached):
        api_key_create(user=user)
    assert ApiKey.objects.filter(user=user).count() == 50


def test_org_key_requires_whitelist(org):
    with pytest.raises(errors.InvalidParameter):
        org_api_key_create(organization=org, ip_whitelist=[])
    api_key, _ = org_api_key_create(organization=org, ip_whitelist=["127.0.0.1"], read_only=True)
    assert api_key.kind == "org" and api_key.permissions == ["read"]


class TestBhexAuthentication:
    @pytest.fixture
    def key(self, make_user):
        return api_key_create(user=make_user(), permissions=["trade"], ip_whitelist=["127.0.0.1"])

    def call(self, api_key: ApiKey | None, query: bytes, ip: str = "127.0.0.1", **kwargs: Any) -> ApiKey:
        params = dict(p.split(b"=", 1) for p in query.split(b"&") if p)
        return auth.bhex_authenticate(
            key=api_key.key if api_key else None,
            ip=ip,
            query=query,
            body=kwargs.pop("body", b""),
            timestamp=params.get(b"timestamp", b"").decode() or None,
            recv_window=params.get(b"recvWindow", b"").decode() or None,
            **kwargs,
        )

    def test_valid_request_accepted_and_last_used_recorded(self, key):
        api_key, secret = key
        assert self.call(api_key, signed_query(secret, symbol="BTCUSDT", timestamp=auth.now_ms())).pk == api_key.pk
        api_key.refresh_from_db()
        assert api_key.last_used_at is not None

    def test_form_body_and_mixed_signing(self, key):
        api_key, secret = key
        query = f"symbol=BTCUSDT&timestamp={auth.now_ms()}".encode()
        body = b"side=BUY&quantity=1"
        signature = bhex_sign(secret, query + body)
        assert self.call(api_key, query, body=body + b"&signature=" + signature.encode()).pk == api_key.pk
        query2 = f"symbol=ETHUSDT&timestamp={auth.now_ms()}".encode()
        signature2 = bhex_sign(secret, query2 + body)
        mixed = query2 + b"&signature=" + signature2.upper().encode()  # not case sensitive
        assert self.call(api_key, mixed, body=body).pk == api_key.pk

    @pytest.mark.parametrize(
        ("case", "error"),
        [
            ("missing key", errors.ApiKeyMissing),
            ("unknown key", errors.ApiKeyInvalid),
            ("disabled", errors.ApiKeyDisabled),
            ("expired", errors.ApiKeyExpired),
            ("ip", errors.IpNotAllowed),
            ("no timestamp", errors.TimestampMissing),
            ("stale", errors.TimestampOutOfWindow),
            ("future", errors.TimestampOutOfWindow),
            ("no signature", errors.SignatureMissing),
            ("bad signature", errors.SignatureInvalid),
            ("org kind", errors.ApiKeyInvalid),
        ],
    )
    def test_each_refusal(self, key, case, error):
        api_key, secret = key
        now = auth.now_ms()
        query = signed_query(secret, symbol="BTCUSDT", timestamp=now)
        ip, kind = "127.0.0.1", "user"
        target: ApiKey | None = api_key
        if case == "missing key":
            target = None
        elif case == "unknown key":
            target = ApiKey(key="x" * 64)
        elif case == "disabled":
            api_key_update(api_key=api_key, enabled=False)
        elif case == "expired":
            ApiKey.objects.filter(pk=api_key.pk).update(ip_whitelist=[], expires_at=timezone.now() - timedelta(1))
        elif case == "ip":
            ip = "10.9.9.9"
        elif case == "no timestamp":
            query = signed_query(secret, symbol="BTCUSDT")
        elif case == "stale":
            query = signed_query(secret, symbol="BTCUSDT", timestamp=now - 6000)
        elif case == "future":
            query = signed_query(secret, symbol="BTCUSDT", timestamp=now + 5000)
        elif case == "no signature":
            query = f"symbol=BTCUSDT&timestamp={now}".encode()
        elif case == "bad signature":
            query = signed_query("wrong" * 13, symbol="BTCUSDT", timestamp=now)
        elif case == "org kind":
            kind = "org"
        with pytest.raises(error):
            self.call(target, query, ip=ip, kind=kind)

    def test_recv_window_widens_the_window(self, key):
        api_key, secret = key
        old = auth.now_ms() - 20000
        assert self.call(api_key, signed_query(secret, timestamp=old, recvWindow=30000)).pk == api_key.pk

    def test_replayed_signature_is_refused(self, key):
        api_key, secret = key
        query = signed_query(secret, symbol="BTCUSDT", timestamp=auth.now_ms())
        self.call(api_key, query)
        with pytest.raises(errors.SignatureReplayed):
            self.call(api_key, query)

    def test_ten_requests_per_second_per_key(self, key):
        api_key, secret = key
        with mock.patch("apps.core.throttles.time.time", return_value=1_000_000.5):
            for i in range(10):
                self.call(api_key, signed_query(secret, n=i, timestamp=auth.now_ms()))
            with pytest.raises(errors.RateLimited) as caught:
                self.call(api_key, signed_query(secret, n=10, timestamp=auth.now_ms()))
        assert caught.value.http_status == 429 and caught.value.details["retry_after"] == 1

    def test_failed_authentications_cool_off_the_ip(self, key):
        api_key, secret = key
        for _ in range(auth.AUTH_FAILURES_PER_MINUTE):
            with pytest.raises(errors.SignatureInvalid):
                self.call(api_key, signed_query("bad", timestamp=auth.now_ms()))
        with pytest.raises(errors.RateLimited):
            self.call(api_key, signed_query(secret, timestamp=auth.now_ms()))
        # another address is not affected
        ApiKey.objects.filter(pk=api_key.pk).update(ip_whitelist=[])
        assert self.call(api_key, signed_query(secret, timestamp=auth.now_ms()), ip="10.1.1.1").pk == api_key.pk

    def test_late_timestamps_do_not_cool_off_the_ip(self, key):
        api_key, secret = key
        for _ in range(auth.AUTH_FAILURES_PER_MINUTE + 5):
            with pytest.raises(errors.TimestampOutOfWindow):
                self.call(api_key, signed_query(secret, timestamp=auth.now_ms() - 10_000))
        assert self.call(api_key, signed_query(secret, timestamp=auth.now_ms())).pk == api_key.pk

    def test_cidr_whitelist(self, make_user):
        api_key, secret = api_key_create(user=make_user(), ip_whitelist=["10.0.0.0/8"])
        assert self.call(api_key, signed_query(secret, timestamp=auth.now_ms()), ip="10.20.30.40")
        with pytest.raises(errors.IpNotAllowed):
            self.call(api_key, signed_query(secret, timestamp=auth.now_ms()), ip="11.0.0.1")


def test_bge_authentication_accepts_iso_and_ms_timestamps_and_rejects_stale(make_user):
    api_key, secret = api_key_create(user=make_user())
    iso = timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for ts in (iso, str(auth.now_ms())):
        sign = bge_sign(secret, timestamp=ts, method="GET", path="/v1/accounts")
        got = auth.bge_authenticate(
            key=api_key.key, ip="1.2.3.4", signature=sign, timestamp=ts, method="GET", path="/v1/accounts"
        )
        assert got.pk == api_key.pk
    stale = str(auth.now_ms() - 31000)
    with pytest.raises(errors.TimestampOutOfWindow):
        auth.bge_authenticate(
            key=api_key.key,
            ip="1.2.3.4",
            signature=bge_sign(secret, timestamp=stale, method="GET", path="/v1/accounts"),
            timestamp=stale,
            method="GET",
            path="/v1/accounts",
        )
    ts = str(auth.now_ms())
    body = '{"product_id":"BTC_USDT"}'
    sign = bge_sign(secret, timestamp=ts, method="POST", path="/v1/orders", body=body)
    kwargs = dict(key=api_key.key, ip="1.2.3.4", signature=sign, timestamp=ts, method="POST", path="/v1/orders")
    with pytest.raises(errors.SignatureInvalid):
        auth.bge_authenticate(**kwargs, body=body.replace("BTC", "ETH"))
    auth.bge_authenticate(**kwargs, body=body)
    with pytest.raises(errors.SignatureReplayed):
        auth.bge_authenticate(**kwargs, body=body)


def test_permission_check(make_user):
    api_key, _ = api_key_create(user=make_user(), permissions=["read"])
    auth.api_key_require(api_key, "read")
    with pytest.raises(errors.ApiPermissionDenied):
        auth.api_key_require(api_key, "trade")


def test_commands_print_json(make_user, org):
    user = make_user()
    out = StringIO()
    call_command("create_api_key", user=str(user.uid), permissions="read,trade,withdraw", ip=["1.2.3.4"], stdout=out)
    created = json.loads(out.getvalue())
    api_key = ApiKey.objects.get(key=created["api_key"])
    assert api_key_secret(api_key) == created["secret"] and api_key.permissions == ["read", "trade", "withdraw"]
    out = StringIO()
    call_command("create_org_api_key", org=org.pk, ip=["127.0.0.1"], read_only=True, stdout=out)
    org_key = json.loads(out.getvalue())
    assert ApiKey.objects.get(key=org_key["api_key"]).kind == "org" and org_key["permissions"] == ["read"]


class TestUserApi:
    @pytest.fixture(autouse=True)
    def _no_throttles(self, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0

    def test_create_needs_second_factor_and_shows_secret_once(self, user_client):
        client, user = user_client
        refused = client.post("/api/v1/api-keys", {"permissions": ["trade"]}, content_type=JSON)
        assert refused.status_code == 403 and refused.json()["code"] == "SECOND_FACTOR_REQUIRED"
        assert ApiKey.objects.count() == 0
        device = bind_totp(user)
        created = client.post(
            "/api/v1/api-keys",
            {"permissions": ["trade"], "ip_whitelist": ["1.2.3.4"], "label": "bot", "totp_code": totp_now(device)},
            content_type=JSON,
        )
        assert created.status_code == 201, created.json()
        body = created.json()
        assert len(body["secret"]) == 64 and body["permissions"] == ["read", "trade"]
        listed = client.get("/api/v1/api-keys").json()
        assert [k["api_key"] for k in listed] == [body["api_key"]] and "secret" not in listed[0]

    def test_update_disable_delete_and_withdraw_needs_second_factor(self, user_client, make_user):
        client, user = user_client
        device = bind_totp(user)
        api_key, _ = api_key_create(user=user)
        url = f"/api/v1/api-keys/{api_key.pk}"
        assert client.patch(url, {"enabled": False}, content_type=JSON).json()["enabled"] is False
        widen = client.patch(url, {"permissions": ["trade", "withdraw"]}, content_type=JSON)
        assert widen.status_code == 403
        time.sleep(0)  # a fresh TOTP code is accepted once
        ok = client.patch(url, {"permissions": ["withdraw"], "totp_code": totp_now(device)}, content_type=JSON)
        assert ok.status_code == 200 and ok.json()["permissions"] == ["read", "withdraw"]
        other, _ = api_key_create(user=make_user())
        assert client.delete(f"/api/v1/api-keys/{other.pk}").status_code == 404  # not mine
        assert client.delete(url).status_code == 204 and not ApiKey.objects.filter(pk=api_key.pk).exists()
