"""Writes of the Org API's own upload records (seed 001 §3.7); the view only parses and answers."""

from __future__ import annotations

import uuid

from django.core.files.base import ContentFile

from apps.orgapi.models import OrgApiUpload
from apps.users.models import Organization


def upload_create(
    *,
    organization: Organization,
    kind: str,
    original_name: str,
    content: bytes,
    content_type: str,
    suffix: str,
    sha256: str,
) -> OrgApiUpload:
    """Store the file under a random name in the organization's folder and record it."""
    row = OrgApiUpload(
        organization=organization,
        kind=kind,
        original_name=original_name,
        content_type=content_type,
        size=len(content),
        sha256=sha256,
    )
    row.file.save(f"{organization.pk}/{kind}/{uuid.uuid4().hex}.{suffix}", ContentFile(content), save=False)
    row.save()
    return row
