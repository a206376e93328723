"""Every Org API write runs once per ``client_order_id`` (seed principle 1, apps.core.idempotency).

``write_once`` inserts the ``OrgApiRequest`` row first and runs the write in the same transaction:

* the first request runs, and its answer is stored with the row when it commits;
* a retry with the same id and the same parameters gets that stored answer (HTTP 200, header
  ``X-Idempotent-Replay: true``) and nothing runs again; a concurrent retry waits on the unique index
  until the first commits, then does the same;
* the same id with another operation or other parameters is refused (code 1103);
* a write that fails rolls back with its row: nothing happened, so the same id may be retried.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from apps.apikeys.models import ApiKey
from apps.core.crypto import secret_decrypt, secret_encrypt
from apps.core.errors import InvalidParameter
from apps.core.idempotency import create_once
from apps.orgapi.errors import client_order_id_reused
from apps.orgapi.models import OrgApiRequest
from apps.users.models import Organization

CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,64}$")


def client_order_id_clean(value: object) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise InvalidParameter(_("client_order_id is required: every write takes a unique client_order_id"))
    if not CLIENT_ORDER_ID.match(text):
        raise InvalidParameter(_("client_order_id: 1–64 characters of A-Z a-z 0-9 _ - . :"))
    return text


def fingerprint(parameters: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()


def _stored(record: OrgApiRequest) -> Any:
    if record.response_encrypted:
        return json.loads(secret_decrypt(record.response_encrypted))
    return record.response


def write_once(
    *,
    organization: Organization,
    api_key: ApiKey | None,
    client_order_id: str,
    operation: str,
    parameters: dict[str, Any],
    run: Callable[[], Any],
    sensitive: bool = False,
) -> tuple[Any, bool]:
    """Run ``run`` once for ``client_order_id``; returns ``(answer, ran_now)``."""
    cid = client_order_id_clean(client_order_id)
    digest = fingerprint(parameters)
    with transaction.atomic():
        record, created = create_once(
            OrgApiRequest,
            lookup={"organization": organization, "client_order_id": cid},
            create=lambda: OrgApiRequest.objects.create(
                organization=organization,
                client_order_id=cid,
                operation=operation,
                fingerprint=digest,
                api_key=api_key,
            ),
        )
        if not created:
            if record.operation != operation or record.fingerprint != digest:
                raise client_order_id_reused()
            return _stored(record), False
        answer = run()
        if sensitive:
            record.response_encrypted = secret_encrypt(json.dumps(answer))
            record.save(update_fields=["response_encrypted"])
        else:
            record.response = answer
            record.save(update_fields=["response"])
    return answer, True


def answer_stored(
    *, organization: Organization, client_order_id: str, operation: str, parameters: dict[str, Any]
) -> Any | None:
    """The stored answer of an earlier write with this id (None when there is none yet).

    For writes whose refusals must persist (a failed login is recorded and counted toward the
    lockout), which therefore check before ``write_once`` instead of inside its transaction.
    """
    cid = client_order_id_clean(client_order_id)
    record = OrgApiRequest.objects.filter(organization=organization, client_order_id=cid).first()
    if record is None:
        return None
    if record.operation != operation or record.fingerprint != fingerprint(parameters):
        raise client_order_id_reused()
    return _stored(record)
