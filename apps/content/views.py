"""Public pages of the content app, mounted at ``/content/``: banner images and an announcement page.

Banner images are public media (what a home page shows); they are streamed from storage here so the
deployment needs no separate media server.
"""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.content.models import Announcement, Banner
from apps.content.selectors import announcements_visible


@require_GET
def banner_image(request: HttpRequest, banner_id: int) -> FileResponse:
    banner = Banner.objects.filter(pk=banner_id).only("image").first()
    if banner is None or not banner.image:
        raise Http404
    try:
        handle = banner.image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = mimetypes.guess_type(banner.image.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "public, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    if content_type == "image/svg+xml":
        # An SVG can carry script; opened directly it must not run in our origin.
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


@require_GET
def announcement_page(request: HttpRequest, announcement_id: int) -> HttpResponse:
    """A published announcement as a page (for links in emails and shares), in the reader's language."""
    candidate = Announcement.objects.filter(pk=announcement_id).first()
    if candidate is None:
        raise Http404
    announcement = (
        announcements_visible(organization_id=candidate.organization_id, language=candidate.language)
        .filter(pk=announcement_id)
        .select_related("organization")
        .first()
    )
    if announcement is None:
        raise Http404
    return render(request, "content/announcement.html", {"announcement": announcement})
