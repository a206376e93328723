"""The Django admin app, pointed at the back office's TOTP-protected site.

``INSTALLED_APPS`` lists ``apps.backoffice.admin_apps.BackofficeAdminConfig`` in place of
``django.contrib.admin``: every ``@admin.register`` in the project (and ``admin.site.urls`` in
``broker/urls.py``) then uses :class:`apps.backoffice.sites.BackofficeAdminSite`.
"""

from django.contrib.admin.apps import AdminConfig


class BackofficeAdminConfig(AdminConfig):
    default_site = "apps.backoffice.sites.BackofficeAdminSite"
