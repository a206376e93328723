"""The event feed over REST (seed 001 §4: "Rest long pulling") and webhook registration.

``GET /api/v2/org/events?from_id=<last event_id seen>&types=…&limit=…&wait=…`` answers the feed's
events numbered after ``from_id`` (oldest first), or, when there is none yet, waits up to ``wait``
seconds (at most 30) for one. The answer's ``last_id`` is what to send as ``from_id`` next: the feed is
numbered per organization without holes, so a client that always resumes from ``last_id`` never misses
and never repeats an event. It is an async view, so a waiting client holds no worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.apikeys.auth import api_key_require
from apps.core.errors import BrokerError, InvalidParameter, NotFound
from apps.core.throttles import rate_limit
from apps.events.feed import types_clean
from apps.events.models import Webhook
from apps.events.selectors import org_feed_read, webhooks_of
from apps.events.webhooks import webhook_create, webhook_delete, webhook_update
from apps.orgapi import selectors
from apps.orgapi.auth import org_authenticate
from apps.orgapi.base import OBJECT, SIGNED, CommaList, OrgApiView, WriteInput, responses
from apps.orgapi.errors import error_body, internal_error_body
from apps.orgapi.params import Params
from apps.orgapi.shapes import webhook_object

TAG = ["orgapi: events"]
logger = logging.getLogger(__name__)
EVENTS_POLL = (120, 60.0)  # long-poll requests per key per minute
WAIT_MAX = 30.0
POLL_INTERVAL = 0.5


def _int(params: Params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(_("%(name)s must be an integer") % {"name": name}) from None
    if not low <= value <= high:
        raise InvalidParameter(
            _("%(name)s must be between %(low)s and %(high)s") % {"name": name, "low": low, "high": high}
        )
    return value


def _open(request: HttpRequest) -> tuple[int, int, frozenset[str], int, float]:
    """Authenticate and read the parameters (sync: database and cache)."""
    params = Params.of(request)
    api_key = org_authenticate(request, params)
    api_key_require(api_key, "read")
    rate_limit(f"orgapi:{api_key.pk}:events", limit=EVENTS_POLL[0], period=EVENTS_POLL[1])
    types = types_clean([t for t in (params.get("types") or "").split(",") if t.strip()])
    from_id = _int(params, "from_id", 0, 0, 2**62)
    limit = _int(params, "limit", 100, 1, 1000)
    wait = float(_int(params, "wait", 0, 0, int(WAIT_MAX)))
    return api_key.organization_id, from_id, types, limit, wait


async def events_poll(request: HttpRequest) -> JsonResponse:
    if request.method != "GET":
        return JsonResponse({"code": 1101, "msg": f"Method {request.method} not allowed"}, status=400)
    try:
        organization_id, from_id, types, limit, wait = await sync_to_async(_open)(request)
        deadline = time.monotonic() + wait
        while True:
            events, cursor = await sync_to_async(org_feed_read)(
                organization_id=organization_id, after_seq=from_id, types=types, limit=limit
            )
            if events or time.monotonic() >= deadline:
                return JsonResponse({"events": events, "last_id": cursor})
            if cursor > from_id:
                from_id = cursor  # only events of other types arrived: keep waiting past them
            await asyncio.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
    except BrokerError as exc:
        status, body = error_body(exc)
        response = JsonResponse(body, status=status)
        if status == 429:
            response["Retry-After"] = str(exc.details.get("retry_after", 1))
        return response
    except Exception:
        logger.exception("Org API events poll failed")
        return JsonResponse(internal_error_body(), status=500)


# --- webhooks -------------------------------------------------------------------------------------
class WebhookCreateApi(OrgApiView):
    operation = "webhook/create"
    permission = "trade"
    sensitive = True

    @extend_schema_serializer(component_name="OrgApiWebhookCreateInput")
    class InputSerializer(WriteInput):
        url = serializers.CharField(max_length=500)
        event_types = CommaList(required=False, default=[], help_text="Org API event names; empty: the default set")
        description = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Register a webhook; the answer carries its signing secret (shown once)",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        webhook, secret = webhook_create(
            organization=self.organization,
            url=data["url"],
            event_types=data["event_types"],
            description=data["description"],
        )
        return webhook_object(webhook, secret)


class WebhookListApi(OrgApiView):
    operation = "webhook/list"

    @extend_schema_serializer(component_name="OrgApiWebhookListInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        pass

    @extend_schema(parameters=SIGNED, responses=responses(OBJECT), tags=TAG, summary="The organization's webhooks")
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        return [webhook_object(w) for w in webhooks_of(organization_id=self.organization.pk)]


class WebhookInput(WriteInput):
    webhook_id = serializers.IntegerField(min_value=1)


class WebhookApi(OrgApiView):
    def webhook(self, webhook_id: int) -> Webhook:
        webhook = webhooks_of(organization_id=self.organization.pk).filter(pk=webhook_id).first()
        if webhook is None:
            self.audit_foreign("webhook", webhook_id, selectors.webhook_owner(webhook_id))
            raise NotFound(_("Webhook does not exist"))
        return webhook


class WebhookUpdateApi(WebhookApi):
    operation = "webhook/update"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiWebhookUpdateInput")
    class InputSerializer(WebhookInput):
        url = serializers.CharField(required=False, max_length=500)
        event_types = CommaList(required=False)
        enabled = serializers.BooleanField(required=False)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Change a webhook's URL, event types, or enable / disable it",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        webhook = webhook_update(
            webhook=self.webhook(data["webhook_id"]),
            url=data.get("url"),
            event_types=data.get("event_types"),
            enabled=data.get("enabled"),
        )
        return webhook_object(webhook)


class WebhookDeleteApi(WebhookApi):
    operation = "webhook/delete"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiWebhookDeleteInput")
    class InputSerializer(WebhookInput):
        pass

    @extend_schema(parameters=SIGNED, request=InputSerializer, responses=responses(OBJECT), tags=TAG, summary="Delete")
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        webhook = self.webhook(data["webhook_id"])
        webhook_id = webhook.pk
        webhook_delete(webhook=webhook)
        return {"webhook_id": webhook_id, "deleted": True}
