"""Writes on OAuth applications and grants: registration, staff approval, consent, revocation.

Tokens themselves are issued by django-oauth-toolkit's endpoints; these services only register
applications, record the user's decision, and take tokens away (a user revoking an app, staff
suspending one). Consent decisions and revocations are audited as the user's security records.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AbstractApplication, AccessToken, Application, Grant, RefreshToken

from apps.core.errors import InvalidParameter, NotFound
from apps.oauth.models import AppRegistration
from apps.oauth.scopes import SCOPES, scopes_parse
from apps.users.models import Organization, User
from apps.users.security import security_record


def _scopes_checked(scopes: Iterable[str]) -> list[str]:
    names = [name for raw in scopes for name in raw.split()]
    unknown = sorted(set(names) - set(SCOPES))
    if unknown:
        raise InvalidParameter(
            _("Unknown scope(s): %(unknown)s; known: %(known)s")
            % {"unknown": ", ".join(unknown), "known": " ".join(SCOPES)}
        )
    checked = scopes_parse(" ".join(names))
    if not checked:
        raise InvalidParameter(_("At least one scope is required"))
    return checked


def oauth_app_create(
    *,
    name: str,
    organization: Organization,
    redirect_uris: list[str],
    scopes: Iterable[str],
    public: bool = False,
    description: str = "",
    homepage: str = "",
    approve: bool = False,
    acting_user: User | None = None,
) -> tuple[Application, str | None]:
    """Register an authorization-code application; returns it and its client secret (None if public).

    The secret is stored hashed, so this is the only time it can be shown.
    """
    name = name.strip()
    if not name:
        raise InvalidParameter(_("name is required"))
    uris = [uri.strip() for uri in redirect_uris if uri.strip()]
    if not uris:
        raise InvalidParameter(_("At least one redirect URI is required"))
    allowed = _scopes_checked(scopes)
    secret = None if public else generate_client_secret()
    application = Application(
        name=name,
        client_type=AbstractApplication.CLIENT_PUBLIC if public else AbstractApplication.CLIENT_CONFIDENTIAL,
        authorization_grant_type=AbstractApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(uris),
        client_secret=secret or "",
        hash_client_secret=not public,
        skip_authorization=False,
    )
    try:
        application.clean()
    except ValidationError as exc:
        raise InvalidParameter("; ".join(exc.messages)) from None
    with transaction.atomic():
        application.save()
        AppRegistration.objects.create(
            application=application,
            organization=organization,
            allowed_scopes=" ".join(allowed),
            description=description,
            homepage=homepage,
            is_approved=approve,
            approved_by=acting_user if approve else None,
            approved_at=timezone.now() if approve else None,
        )
    return application, secret


def oauth_app_approve(*, registration: AppRegistration, acting_user: User | None) -> AppRegistration:
    """Staff approves an application: its users may now authorize it."""
    with transaction.atomic():
        registration.is_approved = True
        registration.approved_by = acting_user
        registration.approved_at = timezone.now()
        registration.save(update_fields=["is_approved", "approved_by", "approved_at"])
    return registration


def oauth_app_suspend(*, registration: AppRegistration, acting_user: User | None) -> int:
    """Staff withdraws approval: the app is refused everywhere and every token it holds is revoked."""
    with transaction.atomic():
        registration.is_approved = False
        registration.approved_by = acting_user
        registration.approved_at = None
        registration.save(update_fields=["is_approved", "approved_by", "approved_at"])
        return _revoke_tokens(application_id=registration.application_id)


def _revoke_tokens(*, application_id: int, user: User | None = None) -> int:
    """Revoke refresh tokens (which deletes their access tokens), then any access token or code left."""
    scope = {"application_id": application_id} | ({"user": user} if user is not None else {})
    count = 0
    for refresh in RefreshToken.objects.filter(revoked__isnull=True, **scope):
        refresh.revoke()
        count += 1
    deleted, _ = AccessToken.objects.filter(**scope).delete()
    Grant.objects.filter(**scope).delete()
    return count + deleted


def oauth_consent_record(*, user: User, application: Application, scopes: list[str], allowed: bool) -> None:
    """Audit the user's answer on the consent page (the code itself is issued by the OAuth server)."""
    with transaction.atomic():
        security_record(
            user=user,
            action="oauth_authorize" if allowed else "oauth_deny",
            client_id=application.client_id,
            application=application.name,
            scopes=scopes,
        )


def oauth_grant_revoke(*, user: User, client_id: str) -> int:
    """The user takes back an application's access: all its tokens and codes for the user go."""
    application = Application.objects.filter(client_id=client_id).first()
    if application is None:
        raise NotFound(_("Unknown application"))
    with transaction.atomic():
        revoked = _revoke_tokens(application_id=application.pk, user=user)
        if not revoked:
            raise NotFound(_("This application holds no access to your account"))
        security_record(user=user, action="oauth_revoke", client_id=application.client_id, application=application.name)
    return revoked
