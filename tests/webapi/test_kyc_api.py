"""HTTP tests: KYC applications through the User API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.errors import KycLevelRequired
from apps.events.models import OutboxEvent
from apps.kyc.models import KycApplication, KycCountry, KycDocument
from apps.kyc.selectors import kyc_level_require
from tests.users import helpers
from tests.users.helpers import PNG

user_client = helpers.user_client  # shared fixture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.KYC_DOCUMENT_ROOT = tmp_path / "kyc"
    KycCountry.objects.create(code="SG", name="Singapore", corporate_allowed=False)


def png(name="a.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


BASIC = {
    "level": 1,
    "country": "SG",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "id_type": "passport",
    "id_number": "X1",
}


def test_basic_application(user_client):
    client, user = user_client
    response = client.post("/api/v1/kyc/applications", BASIC)
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "submitted" and response.json()["level"] == 1
    status = client.get("/api/v1/kyc").json()
    assert status["level"] == 0 and status["next_level"] == 1 and len(status["applications"]) == 1
    assert OutboxEvent.objects.filter(user=user, type="user.kyc.submitted").exists()
    again = client.post("/api/v1/kyc/applications", BASIC)
    assert again.status_code == 409  # one application in review at a time


def test_bad_applications_are_refused(user_client):
    client, _ = user_client
    skip = client.post("/api/v1/kyc/applications", {**BASIC, "level": 2})
    assert skip.status_code == 403 and skip.json()["code"] == "KYC_LEVEL_REQUIRED"
    corporate = client.post("/api/v1/kyc/applications", {**BASIC, "account_type": "corporate", "company_name": "Co"})
    assert corporate.status_code == 400 and "not supported" in corporate.json()["msg"]
    country = client.post("/api/v1/kyc/applications", {**BASIC, "country": "ZZ"})
    assert country.status_code == 400
    nameless = client.post("/api/v1/kyc/applications", {**BASIC, "first_name": ""})
    assert nameless.status_code == 400
    assert not KycApplication.objects.exists()


def test_document_application(user_client, tmp_path):
    client, user = user_client
    user.kyc_level = 1
    user.save()
    missing = client.post("/api/v1/kyc/applications", {"level": 2, "country": "SG", "id_front": png()})
    assert missing.status_code == 400 and "selfie" in missing.json()["msg"]
    not_image = client.post(
        "/api/v1/kyc/applications",
        {"level": 2, "country": "SG", "id_front": png(), "selfie": SimpleUploadedFile("x.png", b"<html>", "image/png")},
    )
    assert not_image.status_code == 400 and "PNG" in not_image.json()["msg"]
    assert not KycDocument.objects.exists()
    ok = client.post("/api/v1/kyc/applications", {"level": 2, "country": "SG", "id_front": png(), "selfie": png()})
    assert ok.status_code == 201, ok.json()
    assert sorted(ok.json()["documents"]) == ["id_front", "selfie"]
    stored = list((tmp_path / "kyc").rglob("*.png"))
    assert len(stored) == 2 and all(p.read_bytes() == PNG for p in stored)
    assert "url" not in str(client.get("/api/v1/kyc").json())


def test_level_gates(make_user):
    user = make_user()
    with pytest.raises(KycLevelRequired):
        kyc_level_require(user=user, level=1)
    user.kyc_level = 2
    kyc_level_require(user=user, level=2)
    kyc_level_require(user=user, level=1)
    with pytest.raises(KycLevelRequired):
        kyc_level_require(user=user, level=3)
