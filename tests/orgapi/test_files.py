"""Seed 001 §3.7: pic/upload and file/upload (multipart, parameters in the signed query string)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.orgapi.models import OrgApiUpload

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
APK = b"PK\x03\x04" + b"\x00" * 200


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_picture_upload_once_and_public_download(api, client):
    answer = api.post_files("pic/upload", {"client_order_id": "pic-1"}, {"file": SimpleUploadedFile("logo.png", PNG)})
    assert answer.status == 200
    assert (answer.body["content_type"], answer.body["size"], answer.body["name"]) == (
        "image/png",
        len(PNG),
        "logo.png",
    )
    again = api.post_files("pic/upload", {"client_order_id": "pic-1"}, {"file": SimpleUploadedFile("logo.png", PNG)})
    assert again.body == answer.body and OrgApiUpload.objects.count() == 1
    path = answer.body["url"].split("testserver", 1)[1]
    download = client.get(path)
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert client.get(path.rsplit("/", 1)[0] + "/guessed.png").status_code == 404


def test_app_package_upload(api):
    answer = api.post_files("file/upload", {"client_order_id": "apk-1"}, {"file": SimpleUploadedFile("app.apk", APK)})
    assert answer.body["content_type"] == "application/vnd.android.package-archive"
    assert answer.body["url"].endswith(".apk")


def test_types_are_told_by_content_not_name(api):
    fake = api.post_files("pic/upload", {"client_order_id": "pic-2"}, {"file": SimpleUploadedFile("x.png", b"<svg/>")})
    assert (fake.status, fake.code) == (400, 1101)
    wrong = api.post_files("file/upload", {"client_order_id": "f-2"}, {"file": SimpleUploadedFile("a.apk", b"MZ..")})
    assert (wrong.status, wrong.code) == (400, 1101)
    assert not OrgApiUpload.objects.exists()


def test_same_id_with_another_file_is_refused(api):
    api.post_files("pic/upload", {"client_order_id": "pic-3"}, {"file": SimpleUploadedFile("a.png", PNG)})
    other = api.post_files(
        "pic/upload", {"client_order_id": "pic-3"}, {"file": SimpleUploadedFile("a.png", PNG + b"!")}
    )
    assert (other.status, other.code) == (400, 1103)
