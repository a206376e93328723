from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BackofficeConfig(AppConfig):
    name = "apps.backoffice"
    label = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        from django.contrib import admin

        from apps.backoffice.sites import actions_require_permission

        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="backoffice.roles")
        actions_require_permission(admin.site)


def _sync_roles(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # Every migrate (and the test database's creation) leaves the DESIGN.md §12 staff groups holding
    # exactly their permissions.
    from apps.backoffice.roles import roles_sync

    roles_sync(using=using)
