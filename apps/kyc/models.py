"""KYC (实名认证): levels, applications, documents.

Levels are cumulative: 1 basic identity (name, country, id number), 2 identity documents with
photos (front, back, selfie), 3 advanced (address with a proof of address). A user applies for the
next level; staff with ``kyc.review_kycapplication`` approve or reject it, and approval raises
``User.kyc_level`` through ``apps.users.services.user_kyc_level_set``. Documents are private files
outside ``MEDIA_ROOT``, served only through a staff view that checks the reviewer permission.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords


class KycLevel(models.IntegerChoices):
    BASIC = 1, "Basic identity"  # name, country, id number
    DOCUMENTS = 2, "Identity documents"  # photos of the id and a selfie
    ADVANCED = 3, "Advanced (address)"  # residential address and its proof


class AccountType(models.TextChoices):
    INDIVIDUAL = "individual"  # a person
    CORPORATE = "corporate"  # a company


class KycState(models.TextChoices):
    SUBMITTED = "submitted"  # waiting for a reviewer
    APPROVED = "approved"  # accepted; the user's level was raised
    REJECTED = "rejected"  # refused with a reason; the user may apply again


class DocumentKind(models.TextChoices):
    ID_FRONT = "id_front"  # identity document, front
    ID_BACK = "id_back"  # identity document, back
    SELFIE = "selfie"  # the person holding the document
    PROOF_OF_ADDRESS = "proof_of_address"  # utility bill, bank statement
    COMPANY_REGISTRATION = "company_registration"  # corporate accounts


class KycDocumentStorage(FileSystemStorage):
    """Files under ``KYC_DOCUMENT_ROOT`` (read on use, not at import); they have no public URL."""

    @property  # type: ignore[override]
    def base_location(self) -> str:
        return str(settings.KYC_DOCUMENT_ROOT)

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("KYC documents have no public URL; staff open them through the admin")


kyc_storage = KycDocumentStorage()


def kyc_document_path(instance: Any, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"{instance.application.user_id}/{uuid.uuid4().hex}.{suffix}"


class KycCountry(models.Model):
    """A country a broker accepts, separately for individual and corporate accounts."""

    code = models.CharField(max_length=2, primary_key=True)  # ISO 3166-1 alpha-2
    name = models.CharField(max_length=100)
    individual_allowed = models.BooleanField(default=True)
    corporate_allowed = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "KYC countries"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class KycApplication(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kyc_applications")
    level = models.PositiveSmallIntegerField(choices=KycLevel.choices)
    account_type = models.CharField(max_length=16, choices=AccountType.choices, default=AccountType.INDIVIDUAL)
    country = models.ForeignKey(KycCountry, on_delete=models.PROTECT, related_name="+")
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    company_name = models.CharField(max_length=200, blank=True, default="")
    id_type = models.CharField(max_length=32, blank=True, default="")
    id_number = models.CharField(max_length=64, blank=True, default="")
    address = models.TextField(blank=True, default="")
    state = FSMField(max_length=16, choices=KycState.choices, default=KycState.SUBMITTED)
    reason = models.CharField(max_length=255, blank=True, default="")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    history = HistoricalRecords()

    class Meta:
        permissions = [("review_kycapplication", "Can approve or reject KYC applications and see documents")]
        indexes = [models.Index(fields=["state", "created_at"], name="kyc_queue")]
        constraints = [
            # One application in review per user at a time.
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(state="submitted"), name="kyc_one_pending_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"KYC L{self.level} of {self.user} ({self.state})"

    @transition(field=state, source=KycState.SUBMITTED, target=KycState.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=state, source=KycState.SUBMITTED, target=KycState.REJECTED)
    def reject(self) -> None:
        pass


class KycDocument(models.Model):
    application = models.ForeignKey(KycApplication, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=32, choices=DocumentKind.choices)
    file = models.FileField(storage=kyc_storage, upload_to=kyc_document_path, max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} of application {self.application_id}"
