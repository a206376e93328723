"""The transactional outbox (DESIGN.md §10).

An ``OutboxEvent`` row is written in the same DB transaction as the change it reports, so an event
exists if and only if its change committed. Delivery happens after commit and is recorded on the
row; anything left undelivered is picked up again by the sweeper.
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

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["organization", "id"], name="outbox_org_feed")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
