"""Public pages of the content app (``/content/``)."""

from django.urls import path

from apps.content import views

urlpatterns = [
    path("banners/<int:banner_id>/image", views.banner_image, name="content-banner-image"),
    path("announcements/<int:announcement_id>", views.announcement_page, name="content-announcement"),
]
