"""Custody backend that talks to a custodian's HTTP API.

Requests: JSON ``POST {CUSTODY_HTTP_URL}/addresses`` and ``/withdrawals``, signed like the callbacks
the custodian sends back: headers ``X-Custody-Timestamp`` (Unix seconds) and ``X-Custody-Signature``
= lowercase hex HMAC-SHA256 over ``timestamp + "." + raw body`` with ``CUSTODY_HTTP_SECRET``.

Callbacks (deposits seen/confirmed, withdrawal outcomes) arrive at ``/custody/callback``, verified
by ``verify_callback`` with ``CUSTODY_CALLBACK_SECRET``: the timestamp must lie within
``CUSTODY_CALLBACK_WINDOW_SECONDS`` of now and each signature is accepted once (a replay is refused
through ``CustodyCallbackReceipt``'s unique key, which holds across processes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.accounts.custody.base import CustodyGateway, IssuedAddress, SubmittedWithdrawal
from apps.accounts.models import CustodyCallbackReceipt, Withdrawal
from apps.core.errors import BadCallbackSignature, CallbackReplayed, CustodyError, CustodyRejected
from apps.core.money import fmt
from apps.tokens.models import ChainNetwork
from apps.users.models import User

TIMEOUT_SECONDS = 10


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_callback(*, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None) -> None:
    """Raise unless the callback is signed with our secret, fresh, and not seen before."""
    secret = settings.CUSTODY_CALLBACK_SECRET
    if not secret or not timestamp or not signature:
        raise BadCallbackSignature()
    try:
        sent = int(timestamp)
    except ValueError:
        raise BadCallbackSignature("Bad timestamp") from None
    current = time.time() if now is None else now
    if abs(current - sent) > settings.CUSTODY_CALLBACK_WINDOW_SECONDS:
        raise BadCallbackSignature("Timestamp outside the accepted window")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip().lower()):
        raise BadCallbackSignature()
    try:
        with transaction.atomic():
            CustodyCallbackReceipt.objects.create(signature=signature.strip().lower())
    except IntegrityError:
        raise CallbackReplayed() from None


class HttpCustodyGateway(CustodyGateway):
    name = "http"

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        base = settings.CUSTODY_HTTP_URL.rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise CustodyError("CUSTODY_HTTP_URL must be an http(s) URL")
        body = json.dumps(payload, default=str, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            f"{base}{path}",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Custody-Timestamp": timestamp,
                "X-Custody-Signature": sign(settings.CUSTODY_HTTP_SECRET, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                data = json.loads(response.read(), parse_float=Decimal)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                raise CustodyRejected(f"Custodian refused {path}: HTTP {exc.code}") from None
            raise CustodyError(f"Custodian error on {path}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise CustodyError(f"Custodian unreachable on {path}: {exc}") from None
        if not isinstance(data, dict):
            raise CustodyError(f"Unexpected custodian answer on {path}")
        return data

    def new_address(self, *, user: User, chain: ChainNetwork) -> IssuedAddress:
        data = self._post(
            "/addresses",
            {"user_ref": f"{user.organization_id}:{user.pk}", "token": chain.token_id, "chain": chain.chain},
        )
        address = str(data.get("address") or "")
        if not address:
            raise CustodyError("The custodian returned no address")
        return IssuedAddress(address=address, memo=str(data.get("memo") or ""))

    def submit_withdrawal(self, *, withdrawal: Withdrawal) -> SubmittedWithdrawal:
        assert withdrawal.chain is not None
        data = self._post(
            "/withdrawals",
            {
                "withdrawal_id": withdrawal.pk,  # the custodian's idempotency key
                "token": withdrawal.token_id,
                "chain": withdrawal.chain.chain,
                "address": withdrawal.address,
                "memo": withdrawal.memo,
                "amount": fmt(withdrawal.arrival_amount),
            },
        )
        return SubmittedWithdrawal(
            custody_reference=str(data.get("reference") or withdrawal.pk), txid=str(data.get("txid") or "")
        )
