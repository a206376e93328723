"""Custody gateway backends and the custodian callback endpoint (/custody/callback)."""

from __future__ import annotations

import io
import json
import time
import urllib.error
from decimal import Decimal

import pytest
from django.test import Client

from apps.accounts import funding
from apps.accounts.custody import get_gateway
from apps.accounts.custody.http import HttpCustodyGateway, sign
from apps.accounts.custody.simulated import SimulatedCustodyGateway
from apps.accounts.models import Deposit, DepositStatus, WithdrawalStatus
from apps.accounts.reconcile import reconcile
from apps.core import errors
from tests.accounts.test_funding_fixtures import FUND_PASSWORD, balance, totp_code

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.accounts.test_funding_fixtures"]

SECRET = "callback-secret-for-tests"


@pytest.fixture
def http_backend(settings, monkeypatch):
    settings.CUSTODY_BACKEND = "http"
    settings.CUSTODY_HTTP_URL = "https://custodian.test/api"
    settings.CUSTODY_HTTP_SECRET = "request-secret"
    settings.CUSTODY_CALLBACK_SECRET = SECRET
    calls: list[tuple[str, dict, dict]] = []
    answers: dict[str, object] = {}

    class FakeResponse(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def urlopen(request, timeout):
        body = json.loads(request.data)
        headers = {k.lower(): v for k, v in request.header_items()}
        calls.append((request.full_url, body, headers))
        answer = answers.get(request.full_url.rsplit("/", 1)[-1])
        if isinstance(answer, Exception):
            raise answer
        return FakeResponse(json.dumps(answer).encode())

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return calls, answers


def post_callback(payload: dict, *, secret: str = SECRET, timestamp: int | None = None, client: Client | None = None):
    body = json.dumps(payload).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return (client or Client()).post(
        "/custody/callback",
        body,
        content_type="application/json",
        headers={"X-Custody-Timestamp": ts, "X-Custody-Signature": sign(secret, ts, body)},
    )


def test_backend_is_chosen_by_setting(settings):
    assert isinstance(get_gateway(), SimulatedCustodyGateway)
    settings.CUSTODY_BACKEND = "http"
    assert isinstance(get_gateway(), HttpCustodyGateway)
    settings.CUSTODY_BACKEND = "nope"
    with pytest.raises(ValueError, match="CUSTODY_BACKEND"):
        get_gateway()


def test_http_backend_issues_addresses_through_signed_requests(http_backend, make_user, funding_tokens):
    calls, answers = http_backend
    answers["addresses"] = {"address": "bc1qcustodian", "memo": ""}
    user = make_user()
    address = funding.deposit_address_get(user=user, token_id="BTC")
    assert address.address == "bc1qcustodian"
    assert funding.deposit_address_get(user=user, token_id="BTC").pk == address.pk
    assert len(calls) == 1  # stable: the custodian is asked once
    url, body, headers = calls[0]
    assert url == "https://custodian.test/api/addresses" and body["token"] == "BTC"
    raw = json.dumps(body, separators=(",", ":")).encode()
    assert headers["x-custody-signature"] == sign("request-secret", headers["x-custody-timestamp"], raw)


def test_http_backend_errors(http_backend, make_user, funding_tokens):
    _, answers = http_backend
    answers["addresses"] = urllib.error.URLError("connection refused")
    with pytest.raises(errors.CustodyError):
        funding.deposit_address_get(user=make_user(), token_id="BTC")
    answers["addresses"] = {"memo": "no address"}
    with pytest.raises(errors.CustodyError):
        funding.deposit_address_get(user=make_user(), token_id="BTC")


def test_http_deposit_callbacks_confirm_and_credit_once(http_backend, make_user, funding_tokens):
    _, answers = http_backend
    answers["addresses"] = {"address": "bc1qalice"}
    user = make_user()
    funding.deposit_address_get(user=user, token_id="BTC")
    report = {"type": "deposit", "token": "BTC", "chain": "BTC", "txid": "abc", "output_index": 0}
    report |= {"address": "bc1qalice", "amount": "0.75"}
    first = post_callback({**report, "confirmations": 1})
    assert first.status_code == 200 and first.json()["status"] == "confirming"
    now = int(time.time())
    for i in range(3):  # redelivered later (new timestamp, new signature): processed, credited once
        response = post_callback({**report, "confirmations": 2}, timestamp=now - 10 - i)
        assert response.status_code == 200 and response.json()["status"] == "credited", response.content
    assert balance(user, "BTC") == (Decimal("0.75"), 0)
    assert Deposit.objects.get().status == DepositStatus.CREDITED
    assert reconcile()["ok"]


def test_callback_signature_timestamp_and_replay_are_checked(http_backend, make_user, funding_tokens):
    _, answers = http_backend
    answers["addresses"] = {"address": "bc1qbob"}
    user = make_user()
    funding.deposit_address_get(user=user, token_id="BTC")
    payload = {"type": "deposit", "token": "BTC", "chain": "BTC", "txid": "x", "output_index": 0}
    payload |= {"address": "bc1qbob", "amount": "1", "confirmations": 2}

    assert post_callback(payload, secret="wrong").status_code == 401
    assert post_callback(payload, timestamp=int(time.time()) - 3600).status_code == 401
    unsigned = Client().post("/custody/callback", json.dumps(payload), content_type="application/json")
    assert unsigned.status_code == 401
    assert balance(user, "BTC") == (0, 0)

    body = json.dumps(payload).encode()
    ts = str(int(time.time()))
    headers = {"X-Custody-Timestamp": ts, "X-Custody-Signature": sign(SECRET, ts, body)}
    ok = Client().post("/custody/callback", body, content_type="application/json", headers=headers)
    assert ok.status_code == 200
    replay = Client().post("/custody/callback", body, content_type="application/json", headers=headers)
    assert replay.status_code == 409 and replay.json()["code"] == "CALLBACK_REPLAYED"
    tampered = Client().post(
        "/custody/callback", body.replace(b'"1"', b'"9"'), content_type="application/json", headers=headers
    )
    assert tampered.status_code == 401
    assert balance(user, "BTC") == (Decimal("1"), 0)


def test_callbacks_refused_with_the_simulated_backend(funding_tokens):
    response = post_callback({"type": "deposit"})
    assert response.status_code == 400


def test_http_withdrawal_submitted_then_failed_by_callback_refunds_once(
    http_backend, withdrawer, approver, funding_tokens
):
    calls, answers = http_backend
    answers["withdrawals"] = {"reference": "cust-77", "txid": ""}
    withdrawal = funding.withdrawal_request(
        user=withdrawer,
        token_id="BTC",
        amount="1",
        address="bc1qdest",
        fund_password=FUND_PASSWORD,
        totp_code=totp_code(withdrawer),
    )
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.custody_reference) == (WithdrawalStatus.BROADCAST, "cust-77")
    sent = calls[-1][1]
    assert sent["withdrawal_id"] == withdrawal.pk and sent["amount"] == "0.9995"
    assert balance(withdrawer, "BTC") == (Decimal("1"), Decimal("1"))

    now = int(time.time())
    for i in range(3):
        failed = post_callback(
            {"type": "withdrawal", "withdrawal_id": withdrawal.pk, "status": "failed", "reason": "x"},
            timestamp=now - 10 - i,
        )
        assert failed.status_code == 200 and failed.json()["status"] == "failed"
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)
    late = post_callback({"type": "withdrawal", "withdrawal_id": withdrawal.pk, "status": "completed"})
    assert late.status_code == 409
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)
    assert reconcile()["ok"]


def test_http_withdrawal_completed_by_callback(http_backend, withdrawer, approver, funding_tokens):
    _, answers = http_backend
    answers["withdrawals"] = {"reference": "cust-78"}
    withdrawal = funding.withdrawal_request(
        user=withdrawer,
        token_id="BTC",
        amount="1",
        address="bc1qdest",
        fund_password=FUND_PASSWORD,
        totp_code=totp_code(withdrawer),
    )
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    done = post_callback({"type": "withdrawal", "withdrawal_id": withdrawal.pk, "status": "completed", "txid": "t9"})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    withdrawal.refresh_from_db()
    assert withdrawal.txid == "t9"
    assert balance(withdrawer, "BTC") == (Decimal("1"), 0)
    bad = post_callback({"type": "withdrawal", "withdrawal_id": withdrawal.pk, "status": "weird"})
    assert bad.status_code == 400
    assert reconcile()["ok"]


def test_custodian_4xx_on_submit_fails_the_withdrawal(http_backend, withdrawer, approver, funding_tokens):
    _, answers = http_backend
    answers["withdrawals"] = urllib.error.HTTPError("u", 422, "bad address", {}, None)
    withdrawal = funding.withdrawal_request(
        user=withdrawer,
        token_id="BTC",
        amount="1",
        address="bc1qdest",
        fund_password=FUND_PASSWORD,
        totp_code=totp_code(withdrawer),
    )
    funding.withdrawal_approve(withdrawal_id=withdrawal.pk, acting_user=approver)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.FAILED
    assert balance(withdrawer, "BTC") == (Decimal("2"), 0)
