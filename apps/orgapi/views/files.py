"""Seed 001 §3.7: image and file uploads (banners, icons; apk / ipa packages), and their downloads.

An upload is ``multipart/form-data`` with one file part named ``file``; its parameters (``timestamp``,
``client_order_id`` …) travel in the signed query string. The type is told from the file's first
bytes, never from its name or the client's content type. Uploads are public by design (an icon on a
web page, an app package users download): ``GET /api/v2/org/files/<id>/<name>`` serves them to anyone.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidParameter
from apps.orgapi.base import OBJECT, SIGNED, OrgApiView, WriteInput, responses
from apps.orgapi.models import OrgApiUpload, UploadKind
from apps.orgapi.params import is_multipart
from apps.orgapi.shapes import ms
from apps.orgapi.uploads import upload_create
from apps.orgapi.writes import write_once

TAG = ["orgapi: files"]

PICTURES: list[tuple[bytes, str, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
]
ARCHIVES = {
    "apk": "application/vnd.android.package-archive",
    "ipa": "application/octet-stream",
    "zip": "application/zip",
}


def sniff_picture(data: bytes) -> tuple[str, str]:
    for signature, content_type, suffix in PICTURES:
        if data.startswith(signature):
            return content_type, suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    raise InvalidParameter(_("Only PNG, JPEG, GIF and WebP images are accepted"))


def sniff_file(data: bytes, name: str) -> tuple[str, str]:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if data.startswith(b"%PDF-"):
        return "application/pdf", "pdf"
    if data.startswith(b"PK\x03\x04"):
        # apk, ipa and zip are all zip archives: the name tells which one it is meant to be.
        suffix = suffix if suffix in ARCHIVES else "zip"
        return ARCHIVES[suffix], suffix
    raise InvalidParameter(_("Only apk, ipa, zip and PDF files are accepted"))


class UploadApi(OrgApiView):
    permission = "trade"
    kind: ClassVar[str] = UploadKind.PIC

    def max_bytes(self) -> int:
        return int(settings.ORGAPI_PIC_MAX_BYTES if self.kind == UploadKind.PIC else settings.ORGAPI_FILE_MAX_BYTES)

    def post(self, request: Request) -> Response:
        data = self.input()
        if not is_multipart(request._request) or "file" not in request._request.FILES:
            raise InvalidParameter(_("Send the file as a multipart part named 'file'"))
        upload: UploadedFile = request._request.FILES["file"]  # type: ignore[assignment]
        if upload.size is None or upload.size > self.max_bytes():
            raise InvalidParameter(_("The file is larger than %(max_bytes)s bytes") % {"max_bytes": self.max_bytes()})
        content = upload.read()
        digest = hashlib.sha256(content).hexdigest()
        name = (upload.name or "")[:255]
        answer, ran = write_once(
            organization=self.organization,
            api_key=self.api_key,
            client_order_id=data["client_order_id"],
            operation=self.operation,
            parameters={**self.params.business(), "sha256": digest},
            run=lambda: self.store(request, content, name, digest),
        )
        response = Response(answer)
        if not ran:
            response["X-Idempotent-Replay"] = "true"
        return response

    def store(self, request: Request, content: bytes, name: str, digest: str) -> dict[str, Any]:
        if self.kind == UploadKind.PIC:
            content_type, suffix = sniff_picture(content)
        else:
            content_type, suffix = sniff_file(content, name)
        row = upload_create(
            organization=self.organization,
            kind=self.kind,
            original_name=name,
            content=content,
            content_type=content_type,
            suffix=suffix,
            sha256=digest,
        )
        path = f"/api/v2/org/files/{row.pk}/{row.file.name.rsplit('/', 1)[-1]}"
        return {
            "file_id": row.pk,
            "url": request.build_absolute_uri(path),
            "name": name,
            "content_type": content_type,
            "size": row.size,
            "sha256": digest,
            "created_at": ms(row.created_at),
        }


class PicUploadApi(UploadApi):
    operation = "pic/upload"
    kind = UploadKind.PIC

    @extend_schema_serializer(component_name="OrgApiPicUploadInput")
    class InputSerializer(WriteInput):
        pass

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        request={"multipart/form-data": OBJECT},
        responses=responses(OBJECT),
        tags=TAG,
        summary="Upload an image (multipart part 'file'; parameters in the query string)",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class FileUploadApi(UploadApi):
    operation = "file/upload"
    kind = UploadKind.FILE

    @extend_schema_serializer(component_name="OrgApiFileUploadInput")
    class InputSerializer(WriteInput):
        pass

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        request={"multipart/form-data": OBJECT},
        responses=responses(OBJECT),
        tags=TAG,
        summary="Upload an app package (apk, ipa) or a document (multipart part 'file')",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


def upload_download(request: HttpRequest, file_id: int, name: str) -> FileResponse:
    """Public download of an upload (its URL carries the stored random name, not only the id)."""
    row = OrgApiUpload.objects.filter(pk=file_id).first()
    if row is None or row.file.name.rsplit("/", 1)[-1] != name:
        raise Http404("No such file")
    response = FileResponse(row.file.open("rb"), content_type=row.content_type)
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
