"""The transactional outbox and its deliveries (DESIGN.md §10, docs/events.md).

An ``OutboxEvent`` row is written in the same DB transaction as the change it reports, so an event
exists if and only if its change committed. Delivery happens after commit and is recorded on the
row; anything left undelivered is picked up again by the sweeper.

**The organization feed is ordered by delivery, not by insert.** Outbox ids come from a sequence
when the row is inserted, but transactions commit in any order: event 11 can be visible while event
10 is still uncommitted, so a consumer that resumed "after 11" would miss 10 for good. Delivery
therefore gives every event of an organization the next number of that organization's feed
(``org_seq``), under a row lock on ``OrgFeedCounter`` held until the numbering commits. Numbers are
handed out in commit order and without holes: whoever has seen number *n* can read every number
below it from the table, and a consumer that receives *n + 2* after *n* knows to fetch *n + 1*.

Webhooks: an organization registers URLs (``Webhook``, secret encrypted at rest); each feed event
that a webhook subscribes to gets one ``WebhookDelivery`` row (unique per webhook and event) and
every HTTP try of it one ``WebhookAttempt`` row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OutboxEvent(models.Model):
    type = models.CharField(max_length=64, db_index=True)
    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, null=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    # Position in the organization's feed (the Org API's ``event_id``); set when delivered.
    org_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["organization", "id"], name="outbox_org_feed")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "org_seq"],
                condition=models.Q(org_seq__isnull=False),
                name="outbox_org_seq_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class OrgFeedCounter(models.Model):
    """The last ``org_seq`` handed out for an organization; locked while a delivery numbers events."""

    organization = models.OneToOneField(
        "users.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"feed of org {self.organization_id} at {self.last_seq}"


class Webhook(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret_encrypted = models.TextField()
    # Org API event names (``org.userRegister`` …); empty = every type the feed sends by default.
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending"  # not delivered yet; tried again at ``next_attempt_at``
    SUCCEEDED = "succeeded"  # the endpoint answered 2xx
    FAILED = "failed"  # gave up after the last attempt (or the webhook was disabled)


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=16, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # When the next try may start; a worker claims a try by moving this forward (a lease).
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["webhook", "event"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=models.Q(status="pending"))
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} → webhook {self.webhook_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.CharField(max_length=500, blank=True, default="")
    error = models.CharField(max_length=255, blank=True, default="")
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
