"""The custodian's callback endpoint, ``POST /custody/callback`` (HTTP custody backend).

Independent of the User API: no session, no CSRF (the HMAC signature authenticates the sender).
Answers ``{"ok": true, ...}`` or ``{"code", "msg"}`` with the error's HTTP status; a custodian
retries on anything but 2xx, and the services are idempotent, so a redelivery is safe.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.accounts.custody.http import verify_callback
from apps.accounts.funding import custody_callback_handle
from apps.core.errors import BrokerError, InvalidParameter

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def custody_callback(request: HttpRequest) -> JsonResponse:
    try:
        if settings.CUSTODY_BACKEND != "http":
            raise InvalidParameter("Custodian callbacks are accepted only with CUSTODY_BACKEND=http")
        body = request.body
        verify_callback(
            body=body,
            timestamp=request.headers.get("X-Custody-Timestamp"),
            signature=request.headers.get("X-Custody-Signature"),
        )
        try:
            payload = json.loads(body, parse_float=Decimal)
        except ValueError:
            raise InvalidParameter("The body is not JSON") from None
        if not isinstance(payload, dict):
            raise InvalidParameter("The body must be a JSON object")
        result = custody_callback_handle(payload)
    except BrokerError as exc:
        logger.warning("custody callback refused: %s %s", exc.code, exc.message)
        return JsonResponse({"code": exc.code, "msg": exc.message}, status=exc.http_status)
    return JsonResponse({"ok": True, **result})
