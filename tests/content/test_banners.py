"""Banners: window, language, order, image served from /content/, safe links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.content import services
from apps.core.errors import InvalidParameter

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def banner(org, title, **kwargs):
    return services.banner_create(
        organization=org,
        title=title,
        image=SimpleUploadedFile(f"{title}.png", PNG, content_type="image/png"),
        acting_user=None,
        **kwargs,
    )


def test_banners_in_position_order_within_window_and_language(client, org):
    now = timezone.now()
    second = banner(org, "second", position=2, link="/markets")
    first = banner(org, "first", position=1, link="https://example.com/promo")
    banner(org, "korean", language="ko")
    banner(org, "future", publish_at=now + timedelta(days=1))
    banner(org, "ended", publish_at=now - timedelta(days=2), unpublish_at=now - timedelta(days=1))
    banner(org, "off", is_active=False)
    rows = client.get("/api/v1/banners").json()
    assert [r["id"] for r in rows] == [first.pk, second.pk]
    assert rows[0]["link"] == "https://example.com/promo"
    assert rows[0]["image_url"].endswith(f"/content/banners/{first.pk}/image")
    korean = client.get("/api/v1/banners", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert [r["title"] for r in korean] == ["korean", "first", "second"]


def test_banner_image_is_served(client, org):
    row = banner(org, "img")
    response = client.get(f"/content/banners/{row.pk}/image")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert client.get("/content/banners/999999/image").status_code == 404


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,x", "//evil.example", "ftp://x"])
def test_unsafe_links_are_refused(org, link):
    with pytest.raises(InvalidParameter):
        banner(org, "bad", link=link)


def test_non_image_upload_is_refused(org):
    with pytest.raises(InvalidParameter):
        services.banner_create(
            organization=org, title="x", image=SimpleUploadedFile("x.html", b"<script>"), acting_user=None
        )
