"""KYC writes: submit an application with its documents; review it (approve / reject)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import Conflict, InvalidParameter, KycLevelRequired, PermissionDenied
from apps.events.services import event_emit
from apps.kyc.models import AccountType, DocumentKind, KycApplication, KycCountry, KycDocument, KycLevel, KycState
from apps.users.models import User
from apps.users.services import user_kyc_level_set

REVIEW_PERMISSION = "kyc.review_kycapplication"

# Accepted document formats, told apart by their first bytes (never by the client's content type).
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
    b"%PDF-": ("application/pdf", "pdf"),
}

_REQUIRED_DOCUMENTS: dict[tuple[int, str], set[str]] = {
    (KycLevel.DOCUMENTS, AccountType.INDIVIDUAL): {DocumentKind.ID_FRONT, DocumentKind.SELFIE},
    (KycLevel.DOCUMENTS, AccountType.CORPORATE): {DocumentKind.ID_FRONT, DocumentKind.COMPANY_REGISTRATION},
    (KycLevel.ADVANCED, AccountType.INDIVIDUAL): {DocumentKind.PROOF_OF_ADDRESS},
    (KycLevel.ADVANCED, AccountType.CORPORATE): {DocumentKind.PROOF_OF_ADDRESS},
}


@dataclass(frozen=True)
class Upload:
    kind: str
    file: IO[bytes]


def _read_document(upload: Upload) -> tuple[bytes, str, str]:
    if upload.kind not in DocumentKind.values:
        raise InvalidParameter(_("Unknown document kind: %(kind)r") % {"kind": upload.kind})
    data = upload.file.read(settings.KYC_DOCUMENT_MAX_BYTES + 1)
    if len(data) > settings.KYC_DOCUMENT_MAX_BYTES:
        raise InvalidParameter(
            _("%(kind)s: the file is larger than %(max_bytes)s bytes")
            % {"kind": upload.kind, "max_bytes": settings.KYC_DOCUMENT_MAX_BYTES}
        )
    for signature, (content_type, suffix) in _SIGNATURES.items():
        if data.startswith(signature):
            return data, content_type, suffix
    raise InvalidParameter(_("%(kind)s: only PNG, JPEG and PDF files are accepted") % {"kind": upload.kind})


def kyc_application_submit(
    *,
    user: User,
    level: int,
    country_code: str,
    account_type: str = AccountType.INDIVIDUAL,
    first_name: str = "",
    last_name: str = "",
    company_name: str = "",
    id_type: str = "",
    id_number: str = "",
    address: str = "",
    documents: list[Upload] | None = None,
) -> KycApplication:
    """Apply for the next KYC level; the application waits for a reviewer."""
    documents = documents or []
    if level not in KycLevel.values:
        raise InvalidParameter(_("level must be 1, 2 or 3"))
    if level <= user.kyc_level:
        raise Conflict(_("You already have KYC level %(level)s") % {"level": user.kyc_level})
    if level > user.kyc_level + 1:
        raise KycLevelRequired(_("Apply for level %(level)s first") % {"level": user.kyc_level + 1})
    if account_type not in AccountType.values:
        raise InvalidParameter(_("account_type must be individual or corporate"))
    country = KycCountry.objects.filter(pk=(country_code or "").upper()).first()
    if country is None:
        raise InvalidParameter(_("Unsupported country: %(country)r") % {"country": country_code})
    allowed = country.individual_allowed if account_type == AccountType.INDIVIDUAL else country.corporate_allowed
    if not allowed:
        raise InvalidParameter(
            _("%(country)s is not supported for %(account_type)s accounts")
            % {"country": country.name, "account_type": account_type}
        )
    if level == KycLevel.BASIC:
        if account_type == AccountType.INDIVIDUAL and not (first_name.strip() and last_name.strip()):
            raise InvalidParameter(_("first_name and last_name are required"))
        if account_type == AccountType.CORPORATE and not company_name.strip():
            raise InvalidParameter(_("company_name is required"))
        if not (id_type.strip() and id_number.strip()):
            raise InvalidParameter(_("id_type and id_number are required"))
    if level == KycLevel.ADVANCED and not address.strip():
        raise InvalidParameter(_("address is required"))
    files = [(upload.kind, *_read_document(upload)) for upload in documents]
    missing = _REQUIRED_DOCUMENTS.get((level, account_type), set()) - {k for k, *_ in files}
    if missing:
        raise InvalidParameter(_("Missing documents: %(kinds)s") % {"kinds": ", ".join(sorted(missing))})
    saved: list[KycDocument] = []
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    application = KycApplication.objects.create(
                        user=user,
                        level=level,
                        account_type=account_type,
                        country=country,
                        first_name=first_name.strip(),
                        last_name=last_name.strip(),
                        company_name=company_name.strip(),
                        id_type=id_type.strip(),
                        id_number=id_number.strip(),
                        address=address.strip(),
                    )
            except IntegrityError:
                raise Conflict(_("An application is already waiting for review")) from None
            for kind, data, content_type, suffix in files:
                document = KycDocument(application=application, kind=kind, content_type=content_type, size=len(data))
                document.file.save(f"{kind}.{suffix}", ContentFile(data), save=False)
                saved.append(document)
                document.save()
            event_emit(
                type="user.kyc.submitted",
                organization_id=user.organization_id,
                user=user,
                payload={"uid": str(user.uid), "application_id": application.pk, "level": level},
            )
    except BaseException:
        # Nothing half-applied: files written before the failure go with the rolled-back rows.
        for document in saved:
            document.file.storage.delete(document.file.name)
        raise
    return application


def _require_reviewer(acting_user: User | None) -> None:
    # None: an Org API key of the applicant's organization, authorized by its surface.
    if acting_user is not None and not acting_user.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied(_("Only KYC reviewers can review applications"))


def kyc_application_approve(*, application: KycApplication, acting_user: User | None) -> KycApplication:
    _require_reviewer(acting_user)
    with transaction.atomic():
        locked = KycApplication.objects.select_for_update().select_related("user").get(pk=application.pk)
        if locked.state != KycState.SUBMITTED:
            raise Conflict(_("The application is already %(state)s") % {"state": locked.state})
        locked.approve()
        locked.reviewer = acting_user
        locked.reviewed_at = timezone.now()
        locked.save()
        user = locked.user
        if locked.level > user.kyc_level:
            user_kyc_level_set(user=user, level=locked.level, acting_user=acting_user)
        _emit_result(locked)
    return locked


def kyc_application_reject(*, application: KycApplication, acting_user: User | None, reason: str) -> KycApplication:
    _require_reviewer(acting_user)
    if not reason.strip():
        raise InvalidParameter(_("A reason is required to reject an application"))
    with transaction.atomic():
        locked = KycApplication.objects.select_for_update().select_related("user").get(pk=application.pk)
        if locked.state != KycState.SUBMITTED:
            raise Conflict(_("The application is already %(state)s") % {"state": locked.state})
        locked.reject()
        locked.reason = reason.strip()[:255]
        locked.reviewer = acting_user
        locked.reviewed_at = timezone.now()
        locked.save()
        _emit_result(locked)
    return locked


def _emit_result(application: KycApplication) -> None:
    event_emit(
        type="user.kyc.result",
        organization_id=application.user.organization_id,
        user=application.user,
        payload={
            "uid": str(application.user.uid),
            "application_id": application.pk,
            "level": application.level,
            "state": application.state,
            "reason": application.reason,
        },
    )
