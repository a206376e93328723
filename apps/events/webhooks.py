"""Webhooks: an organization's URLs that receive its feed events by HTTP POST (docs/events.md).

* **Registration** (``webhook_create``): the URL and the event types; a 64-character secret is made
  here, shown once, and stored encrypted (``apps.core.crypto``).
* **Signing**: the body is the feed body (``apps.events.feed.feed_body``) as compact JSON. Headers
  ``X-Org-Event-Id``, ``X-Org-Event-Type``, ``X-Org-Timestamp`` (ms) and ``X-Org-Signature`` = lowercase
  hex HMAC-SHA256 with the secret over ``<timestamp>.<body bytes>`` — a receiver recomputes it and
  refuses old timestamps, so a captured request cannot be replayed later.
* **Delivery**: one ``WebhookDelivery`` per (webhook, event), created when the event is delivered; a
  worker claims a try by moving ``next_attempt_at`` forward (a lease, so the queued task and the
  periodic retry never post the same try twice), posts, and records a ``WebhookAttempt``. A 2xx
  answer ends it; anything else (an error status, a timeout, a refused connection) schedules the next
  try after ``backoff(attempts)`` = 10 s, 20 s, 40 s … capped at one hour, and after
  ``WEBHOOK_MAX_ATTEMPTS`` tries the delivery is ``failed``. ``webhooks_retry_due`` (beat, every 10 s)
  runs the tries that are due.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.crypto import secret_decrypt, secret_encrypt
from apps.core.errors import InvalidParameter
from apps.core.locks import parent_row_lock
from apps.events.feed import feed_body, org_event_type, types_clean
from apps.events.models import OutboxEvent, Webhook, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from apps.users.models import Organization, User

logger = logging.getLogger(__name__)

SECRET_LENGTH = 64
MAX_WEBHOOKS_PER_ORGANIZATION = 10
BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 3600
LEASE_SECONDS = 60
RESPONSE_KEPT = 500
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def max_attempts() -> int:
    return int(_setting("WEBHOOK_MAX_ATTEMPTS", 10))


def backoff(attempts: int) -> timedelta:
    """Wait before try ``attempts + 1``, after ``attempts`` failed tries: 10 s, 20 s, 40 s … ≤ 1 h."""
    base = int(_setting("WEBHOOK_BACKOFF_BASE_SECONDS", BACKOFF_BASE_SECONDS))
    return timedelta(seconds=min(base * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS))


def webhook_sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _private_address(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable now: the try fails and is recorded
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            return True
    return False


def url_clean(url: str) -> str:
    """An http(s) URL; private and loopback hosts only where ``WEBHOOK_ALLOW_PRIVATE`` (dev, tests)."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 500:
        raise InvalidParameter(_("url must be an http(s) URL of at most 500 characters"))
    if not _setting("WEBHOOK_ALLOW_PRIVATE", True) and _private_address(parts.hostname):
        raise InvalidParameter(_("url must not point to a private or loopback address"))
    return text


def _types_stored(event_types: list[str] | None) -> list[str]:
    """A webhook's types as stored: ``[]`` for the default set (empty or ``*``), else the named ones."""
    wanted = {t.strip() for t in (event_types or []) if t and t.strip()}
    if not wanted or wanted == {"*"}:
        return []
    return sorted(types_clean(sorted(wanted)))


def webhook_create(
    *,
    organization: Organization,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
    acting_user: User | None = None,
) -> tuple[Webhook, str]:
    """Register a webhook; returns it and its plaintext secret (never retrievable again)."""
    cleaned_url = url_clean(url)
    types = _types_stored(event_types)
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))
    with transaction.atomic():
        parent_row_lock(Organization, organization.pk)
        if Webhook.objects.filter(organization=organization).count() >= MAX_WEBHOOKS_PER_ORGANIZATION:
            raise InvalidParameter(
                _("At most %(max)s webhooks per organization") % {"max": MAX_WEBHOOKS_PER_ORGANIZATION}
            )
        webhook = Webhook.objects.create(
            organization=organization,
            url=cleaned_url,
            secret_encrypted=secret_encrypt(secret),
            event_types=types,
            description=description[:200],
            created_by=acting_user,
        )
    return webhook, secret


def webhook_update(
    *,
    webhook: Webhook,
    url: str | None = None,
    event_types: list[str] | None = None,
    enabled: bool | None = None,
    description: str | None = None,
) -> Webhook:
    fields: list[str] = []
    if description is not None:
        webhook.description = description[:200]
        fields.append("description")
    if url is not None:
        webhook.url = url_clean(url)
        fields.append("url")
    if event_types is not None:
        webhook.event_types = _types_stored(event_types)
        fields.append("event_types")
    if enabled is not None:
        webhook.enabled = enabled
        fields.append("enabled")
    if fields:
        webhook.save(update_fields=[*fields, "updated_at"])
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


def webhook_secret(webhook: Webhook) -> str:
    return secret_decrypt(webhook.secret_encrypted)


def webhook_wants(webhook: Webhook, event_type: str) -> bool:
    return event_type in (frozenset(webhook.event_types) if webhook.event_types else types_clean(None))


# --- delivery ---------------------------------------------------------------------------------------


def webhook_deliveries_create(events: list[OutboxEvent], *, now: datetime) -> list[int]:
    """Inside ``deliver``'s transaction: a pending delivery per (subscribed webhook, feed event)."""
    feed_events: list[tuple[OutboxEvent, str]] = []
    for event in events:
        name = org_event_type(event.type, event.payload) if event.organization_id is not None else None
        if name is not None:
            feed_events.append((event, name))
    if not feed_events:
        return []
    hooks: dict[int, list[Webhook]] = {}
    for webhook in Webhook.objects.filter(
        organization_id__in={e.organization_id for e, _name in feed_events}, enabled=True
    ).order_by("pk"):
        hooks.setdefault(webhook.organization_id, []).append(webhook)
    rows = [
        WebhookDelivery(webhook=webhook, event=event, next_attempt_at=now)
        for event, name in feed_events
        for webhook in hooks.get(event.organization_id or 0, [])
        if webhook_wants(webhook, name)
    ]
    if not rows:
        return []
    return [row.pk for row in WebhookDelivery.objects.bulk_create(rows)]


def webhook_deliveries_queue(delivery_ids: list[int]) -> None:
    """After commit: a task per delivery (a slow endpoint only delays its own deliveries)."""
    if not delivery_ids:
        return
    from apps.events.tasks import webhook_deliver

    for delivery_id in delivery_ids:
        webhook_deliver.delay(delivery_id)


def _claim(delivery_id: int) -> bool:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
    return claimed == 1


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str, str]:
    """(status, response text, error); a non-2xx status is a failure with its status recorded."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(RESPONSE_KEPT).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as exc:
        text = exc.read(RESPONSE_KEPT).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, text, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, "", f"{type(exc).__name__}: {reason}"[:255]


def webhook_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Make one due try of a delivery and record it; None when it is not due or not pending."""
    if not _claim(delivery_id):
        return None
    delivery = WebhookDelivery.objects.select_related("webhook", "event", "event__user").get(pk=delivery_id)
    webhook = delivery.webhook
    number = delivery.attempts + 1
    started = timezone.now()
    if not webhook.enabled:
        status, text, error = None, "", "webhook disabled"
    else:
        body = json.dumps(feed_body(delivery.event), separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(time.time() * 1000))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "broker-webhooks/1",
            "X-Org-Event-Id": str(delivery.event.org_seq),
            "X-Org-Event-Type": org_event_type(delivery.event.type, delivery.event.payload) or delivery.event.type,
            "X-Org-Timestamp": timestamp,
            "X-Org-Signature": webhook_sign(webhook_secret(webhook), timestamp, body),
        }
        status, text, error = _post(webhook.url, body, headers, float(_setting("WEBHOOK_TIMEOUT_SECONDS", 5)))
    finished = timezone.now()
    succeeded = status is not None and 200 <= status < 300
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started,
            duration_ms=int((finished - started).total_seconds() * 1000),
            response_status=status,
            response_body=text[:RESPONSE_KEPT],
            error=error[:255],
            succeeded=succeeded,
        )
        delivery.attempts = number
        if succeeded:
            delivery.status = WebhookDeliveryStatus.SUCCEEDED
            delivery.delivered_at = finished
            delivery.last_error = ""
        elif number >= max_attempts() or not webhook.enabled:
            delivery.status = WebhookDeliveryStatus.FAILED
            delivery.last_error = error[:255]
            logger.warning("webhook %s gave up on event %s: %s", webhook.pk, delivery.event_id, error)
        else:
            delivery.next_attempt_at = finished + backoff(number)
            delivery.last_error = error[:255]
        delivery.save(update_fields=["attempts", "status", "delivered_at", "last_error", "next_attempt_at"])
    return delivery


def webhook_deliveries_due(*, limit: int = 500) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
