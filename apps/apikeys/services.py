"""Writes of API keys: create (secret shown once), update, enable/disable, delete."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.apikeys.models import ApiKey, ApiKeyKind, ApiPermission
from apps.core.crypto import secret_decrypt, secret_encrypt
from apps.core.errors import ApiKeyLimitReached, InvalidParameter
from apps.core.locks import parent_row_lock
from apps.users.models import Organization, User
from apps.users.security import Factors, second_factor_check, security_record
from apps.users.verification import code_consume

MAX_KEYS_PER_USER = 50
MAX_WHITELIST = 10
NO_WHITELIST_LIFETIME = timedelta(days=180)
KEY_LENGTH = 64  # BHEX: API keys and secrets are 64 characters
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _random_token() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(KEY_LENGTH))


def ip_whitelist_clean(ips: Iterable[str]) -> list[str]:
    """Normalise addresses and CIDR networks; at most ten, duplicates dropped."""
    cleaned: list[str] = []
    for raw in ips:
        text = raw.strip()
        if not text:
            continue
        try:
            value = str(ipaddress.ip_network(text, strict=False)) if "/" in text else str(ipaddress.ip_address(text))
        except ValueError as exc:
            raise InvalidParameter(_("Not an IP address or network: %(text)s") % {"text": text}) from exc
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_WHITELIST:
        raise InvalidParameter(_("At most %(max)s IP addresses per API key") % {"max": MAX_WHITELIST})
    return cleaned


def permissions_clean(permissions: Iterable[str]) -> list[str]:
    """Known permission names only; ``read`` is always granted (every key can read its own data)."""
    wanted = {p.strip().lower() for p in permissions if p and p.strip()}
    unknown = wanted - set(ApiPermission.values)
    if unknown:
        raise InvalidParameter(_("Unknown permission: %(permissions)s") % {"permissions": ", ".join(sorted(unknown))})
    wanted.add(ApiPermission.READ)
    return [p for p in ApiPermission.values if p in wanted]


def _expiry_for(ip_whitelist: list[str]) -> datetime | None:
    return None if ip_whitelist else timezone.now() + NO_WHITELIST_LIFETIME


def api_key_create(
    *,
    user: User,
    label: str = "",
    permissions: Iterable[str] = ("read",),
    ip_whitelist: Iterable[str] = (),
    acting_user: User | None = None,
) -> tuple[ApiKey, str]:
    """Create a user's key; returns the key and its plaintext secret (never retrievable again)."""
    perms = permissions_clean(permissions)
    ips = ip_whitelist_clean(ip_whitelist)
    if user.organization is None:
        raise InvalidParameter(_("Only end users of an organization have API keys"))
    secret = _random_token()
    with transaction.atomic():
        # the user row lock serialises concurrent creations, so the cap cannot be overshot
        parent_row_lock(User, user.pk)
        if ApiKey.objects.filter(user=user).count() >= MAX_KEYS_PER_USER:
            raise ApiKeyLimitReached()
        api_key = ApiKey.objects.create(
            kind=ApiKeyKind.USER,
            organization=user.organization,
            user=user,
            label=label[:64],
            key=_random_token(),
            secret_encrypted=secret_encrypt(secret),
            permissions=perms,
            ip_whitelist=ips,
            expires_at=_expiry_for(ips),
            created_by=acting_user,
        )
    return api_key, secret


def org_api_key_create(
    *,
    organization: Organization,
    ip_whitelist: Iterable[str],
    read_only: bool = False,
    label: str = "",
    acting_user: User | None = None,
) -> tuple[ApiKey, str]:
    """Create an Org API key: the IP whitelist is mandatory; read-only or full access."""
    ips = ip_whitelist_clean(ip_whitelist)
    if not ips:
        raise InvalidParameter(_("An organization API key needs an IP whitelist"))
    perms: list[str] = [ApiPermission.READ.value] if read_only else [str(p) for p in ApiPermission.values]
    secret = _random_token()
    api_key = ApiKey.objects.create(
        kind=ApiKeyKind.ORG,
        organization=organization,
        label=label[:64],
        key=_random_token(),
        secret_encrypted=secret_encrypt(secret),
        permissions=perms,
        ip_whitelist=ips,
        created_by=acting_user,
    )
    return api_key, secret


def api_key_update(
    *,
    api_key: ApiKey,
    label: str | None = None,
    permissions: Iterable[str] | None = None,
    ip_whitelist: Iterable[str] | None = None,
    enabled: bool | None = None,
) -> ApiKey:
    fields: list[str] = []
    if label is not None:
        api_key.label = label[:64]
        fields.append("label")
    if permissions is not None:
        api_key.permissions = permissions_clean(permissions)
        fields.append("permissions")
    if ip_whitelist is not None:
        ips = ip_whitelist_clean(ip_whitelist)
        if api_key.kind == ApiKeyKind.ORG and not ips:
            raise InvalidParameter(_("An organization API key needs an IP whitelist"))
        had_whitelist = bool(api_key.ip_whitelist)
        api_key.ip_whitelist = ips
        if ips:
            api_key.expires_at = None
        elif had_whitelist or api_key.expires_at is None:
            api_key.expires_at = _expiry_for(ips)
        fields += ["ip_whitelist", "expires_at"]
    if enabled is not None:
        api_key.enabled = enabled
        fields.append("enabled")
    if fields:
        api_key.save(update_fields=fields)
    return api_key


def api_key_delete(*, api_key: ApiKey) -> None:
    api_key.delete()


def api_key_secret(api_key: ApiKey) -> str:
    return secret_decrypt(api_key.secret_encrypted)


def api_key_create_by_user(
    *,
    user: User,
    factors: Factors,
    label: str = "",
    permissions: Iterable[str] = ("read",),
    ip_whitelist: Iterable[str] = (),
) -> tuple[ApiKey, str]:
    """A user creating their own key: the second factor is checked and spent with the creation."""
    with transaction.atomic():
        codes = second_factor_check(user=user, factors=factors)
        api_key, secret = api_key_create(user=user, label=label, permissions=permissions, ip_whitelist=ip_whitelist)
        for code in codes:
            code_consume(code)
        security_record(user=user, action="api_key_create", key=api_key.key[:8], permissions=api_key.permissions)
    return api_key, secret
