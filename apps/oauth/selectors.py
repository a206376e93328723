"""Reads on OAuth applications and on what a user granted them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken, refresh_token_expire_timedelta

from apps.oauth.models import AppRegistration
from apps.oauth.scopes import scopes_parse
from apps.users.models import User


def application_is_approved(application: Application) -> bool:
    """Whether staff approved ``application`` (for a live organization); remembered on the instance."""
    cached = getattr(application, "_broker_approved", None)
    if cached is None:
        cached = AppRegistration.objects.filter(
            application_id=application.pk, is_approved=True, organization__is_active=True
        ).exists()
        application._broker_approved = cached  # type: ignore[attr-defined]
    return bool(cached)


def application_by_client_id(client_id: str) -> Application | None:
    if not client_id:
        return None
    return (
        Application.objects.filter(client_id=client_id)
        .select_related("registration", "registration__organization")
        .first()
    )


def registration_of(application: Application) -> AppRegistration | None:
    try:
        return application.registration  # type: ignore[attr-defined,no-any-return]
    except AppRegistration.DoesNotExist:
        return None


@dataclass(frozen=True)
class GrantedApp:
    """An application that holds a live token of the user: what it may do and since when."""

    application: Application
    scopes: list[str]
    authorized_at: datetime


def oauth_grants_of(*, user: User) -> list[GrantedApp]:
    """Applications the user authorized whose access or refresh token is still usable, newest first."""
    now = timezone.now()
    refresh_lifetime = refresh_token_expire_timedelta()
    scopes: dict[int, set[str]] = {}
    families: dict[int, set[object]] = {}
    since: dict[int, datetime] = {}

    def note(application_id: int, scope: str, created: datetime) -> None:
        scopes.setdefault(application_id, set()).update(scope.split())
        since[application_id] = min(since.get(application_id, created), created)

    for access in AccessToken.objects.filter(user=user, application__isnull=False, expires__gt=now):
        note(access.application_id, access.scope, access.created)  # type: ignore[arg-type]
    refresh_tokens = RefreshToken.objects.filter(
        user=user, application__isnull=False, revoked__isnull=True, access_token__isnull=False
    ).select_related("access_token")
    for refresh in refresh_tokens:
        access = refresh.access_token
        if refresh_lifetime is not None and access.expires + refresh_lifetime <= now:
            continue
        note(refresh.application_id, access.scope, refresh.created)  # type: ignore[arg-type]
        if refresh.token_family:
            families.setdefault(refresh.application_id, set()).add(refresh.token_family)  # type: ignore[arg-type]
    # A rotated refresh token leaves its predecessors behind (revoked): the family's first one is
    # when the user said yes.
    for application_id, family_ids in families.items():
        first = RefreshToken.objects.filter(token_family__in=family_ids).aggregate(first=Min("created"))["first"]
        if first is not None:
            since[application_id] = min(since[application_id], first)
    applications = Application.objects.in_bulk(list(scopes))
    grants = [
        GrantedApp(application=applications[pk], scopes=scopes_parse(" ".join(names)), authorized_at=since[pk])
        for pk, names in scopes.items()
        if pk in applications
    ]
    return sorted(grants, key=lambda grant: grant.authorized_at, reverse=True)
