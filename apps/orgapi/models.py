"""What the Org API surface itself keeps: the answer to each write (seed principle 1) and uploads.

``OrgApiRequest`` makes every write safely retryable: the row is unique per (organization,
``client_order_id``) and is inserted in the same transaction as the write's effects, so a retry —
even a concurrent one, which waits on the unique index — finds the first answer instead of acting
again. Answers that carry a secret (a login token, a new API key's secret) are stored encrypted.
"""

from __future__ import annotations

from django.db import models


class OrgApiRequest(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, related_name="+")
    client_order_id = models.CharField(max_length=64)
    operation = models.CharField(max_length=64)  # e.g. "trade/spot/createOrder"
    fingerprint = models.CharField(max_length=64)  # sha256 of the parameters (retries must repeat them)
    api_key = models.ForeignKey("apikeys.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    response = models.JSONField(null=True, blank=True)
    response_encrypted = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "Org API write"
        constraints = [models.UniqueConstraint(fields=["organization", "client_order_id"], name="orgapi_request_once")]

    def __str__(self) -> str:
        return f"{self.operation} {self.client_order_id}"


class UploadKind(models.TextChoices):
    PIC = "pic"  # an image (PNG, JPEG, GIF, WebP): banners, icons, avatars
    FILE = "file"  # an app package (apk, ipa) or a document (PDF, zip)


class OrgApiUpload(models.Model):
    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=UploadKind.choices)
    file = models.FileField(upload_to="orgapi/", max_length=255)
    original_name = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.original_name or self.pk}"
