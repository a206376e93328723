"""What the broker adds to django-oauth-toolkit's ``Application``: who it serves and what staff allowed.

DOT's own models (``Application``, ``Grant``, ``AccessToken``, ``RefreshToken``) stay as they are;
``AppRegistration`` sits beside an application, one to one. An application without a registration,
or with one that staff has not approved, cannot authorize users nor get tokens, and its existing
tokens stop working (apps/oauth/validators.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.models import Application
from simple_history.models import HistoricalRecords


class AppRegistration(models.Model):
    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="registration")
    # The broker whose users may authorize the app; they log in on the consent page within it.
    organization = models.ForeignKey("users.Organization", on_delete=models.PROTECT, related_name="oauth_apps")
    # Space-separated subset of apps.oauth.scopes.SCOPES the app may request.
    allowed_scopes = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="", help_text="Shown to users on the consent page")
    homepage = models.URLField(blank=True, default="")
    is_approved = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "OAuth app registration"

    def __str__(self) -> str:
        return f"registration of {self.application}"
