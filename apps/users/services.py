"""Writes on organizations and users."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.services import organization_open_system_accounts, user_open_accounts
from apps.core.errors import Conflict, InvalidParameter, NotAuthenticated, NotFound
from apps.events.services import event_emit
from apps.users.models import CodePurpose, Favorite, FreezeKind, Organization, SecurityRecord, User, UserFreeze
from apps.users.security import Factors, second_factor_check, security_record
from apps.users.selectors import user_find_by_contact
from apps.users.verification import code_check, code_consume, code_send, contact_name, is_email, target_normalize

UID_MIN = 10**15
UID_MAX = 10**16 - 1


def organization_create(*, name: str) -> Organization:
    name = name.strip()
    if not name:
        raise InvalidParameter(_("Organization name is required"))
    with transaction.atomic():
        try:
            with transaction.atomic():
                organization = Organization.objects.create(name=name)
        except IntegrityError:
            raise Conflict(_("An organization named %(name)r already exists") % {"name": name}) from None
        organization_open_system_accounts(organization=organization)
    return organization


def _new_uid() -> int:
    return UID_MIN + secrets.randbelow(UID_MAX - UID_MIN)


INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes


def _new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))


def user_create(
    *,
    organization: Organization,
    email: str = "",
    phone: str = "",
    password: str | None,
    kyc_level: int = 0,
    language: str = "en",
    invited_by: User | None = None,
) -> User:
    """Register an end user of ``organization`` and open their SPOT and FUNDING accounts."""
    email = email.strip().lower()
    phone = phone.strip()
    if not email and not phone:
        raise InvalidParameter(_("An email or a phone number is required"))
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidParameter(_("Invalid email address: %(email)r") % {"email": email}) from None
    if not 0 <= kyc_level <= 3:
        raise InvalidParameter(_("kyc_level must be 0–3"))
    if password is not None:
        try:
            validate_password(password)
        except ValidationError as exc:
            raise InvalidParameter("; ".join(exc.messages)) from None
    with transaction.atomic():
        if email and User.objects.filter(organization=organization, email=email).exists():
            raise Conflict(_("This email is already registered"))
        if phone and User.objects.filter(organization=organization, phone=phone).exists():
            raise Conflict(_("This phone number is already registered"))
        for _attempt in range(5):
            uid = _new_uid()
            try:
                with transaction.atomic():
                    user = User(
                        username=f"u{uid}",
                        uid=uid,
                        organization=organization,
                        email=email,
                        phone=phone,
                        kyc_level=kyc_level,
                        language=language,
                        invite_code=_new_invite_code(),
                        invited_by=invited_by,
                    )
                    if password is None:
                        user.set_unusable_password()
                    else:
                        user.set_password(password)
                    user.save(force_insert=True)
                break
            except IntegrityError as exc:
                if not any(name in str(exc) for name in ("uid", "username", "invite_code")):
                    raise Conflict(_("This email or phone number is already registered")) from None
        else:  # pragma: no cover - five 1-in-10^15 collisions in a row
            raise Conflict(_("Could not allocate a user id"))
        user_open_accounts(user=user)
        event_emit(
            type="user.register",
            organization_id=organization.pk,
            user=user,
            payload={"uid": str(user.uid), "email": email, "phone": phone},
        )
    return user


def user_register(
    *, organization: Organization, target: str, code: str, password: str, invite_code: str = "", language: str = "en"
) -> User:
    """Sign up with an email or phone proven by a REGISTER code; optionally under an inviter.

    ``language`` is the language the user registered in (the surface passes the request's); it is
    their language preference from then on (errors, emails, notifications)."""
    target = target_normalize(target)
    inviter = None
    if invite_code:
        inviter = User.objects.filter(organization=organization, invite_code=invite_code.strip().upper()).first()
        if inviter is None:
            raise InvalidParameter(_("Unknown invite code"))
    email, phone = (target, "") if is_email(target) else ("", target)
    if User.objects.filter(organization=organization, **({"email": email} if email else {"phone": phone})).exists():
        raise Conflict(_("This email or phone number is already registered"))
    try:
        validate_password(password)
    except ValidationError as exc:
        raise InvalidParameter("; ".join(exc.messages)) from None
    row = code_check(organization_id=organization.pk, target=target, purpose=CodePurpose.REGISTER, code=code)
    with transaction.atomic():
        code_consume(row)
        return user_create(
            organization=organization,
            email=email,
            phone=phone,
            password=password,
            invited_by=inviter,
            language=language if language in dict(settings.LANGUAGES) else "en",
        )


def user_language_set(*, user: User, language: str) -> User:
    if language not in dict(settings.LANGUAGES):
        raise InvalidParameter(_("Unsupported language: %(language)r") % {"language": language})
    user.language = language
    user.save(update_fields=["language"])
    return user


def favorite_add(*, user: User, symbol_id: str) -> Favorite:
    from apps.tokens.selectors import symbols_offered

    assert user.organization_id is not None
    symbol = symbols_offered(organization_id=user.organization_id).filter(pk=symbol_id.upper()).first()
    if symbol is None:
        raise NotFound(_("Unknown symbol: %(symbol)s") % {"symbol": symbol_id})
    favorite, _created = Favorite.objects.get_or_create(user=user, symbol=symbol)
    return favorite


def favorite_remove(*, user: User, symbol_id: str) -> None:
    Favorite.objects.filter(user=user, symbol_id=symbol_id.upper()).delete()


def user_close(*, user: User, password: str, factors: Factors) -> None:
    """Close the account (注销): only with zero balances and no open orders; it can't log in again."""
    from apps.accounts.models import Balance
    from apps.trading.models import OPEN_STATUSES, Order

    if not user.check_password(password):
        raise InvalidParameter(_("The password is wrong"))
    codes = second_factor_check(user=user, factors=factors)
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)  # see apps.core.locks
        if Order.objects.filter(user=locked, status__in=OPEN_STATUSES).exists():
            raise Conflict(_("Cancel your open orders before closing the account"))
        nonzero = Balance.objects.filter(account__user=locked).exclude(available=0, hold=0, lockup=0)
        if nonzero.exists():
            raise Conflict(_("Withdraw or transfer all balances before closing the account"))
        for row in codes:
            code_consume(row)
        locked.is_active = False
        locked.closed_at = timezone.now()
        locked.save(update_fields=["is_active", "closed_at"])
        security_record(user=locked, action="account_close")
    user.is_active = False


def user_kyc_level_set(*, user: User, level: int, acting_user: User | None = None) -> User:
    """The one place ``User.kyc_level`` changes (KYC approval calls it inside its transaction)."""
    if not 0 <= level <= 3:
        raise InvalidParameter(_("kyc_level must be 0–3"))
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(kyc_level=level)
        user.kyc_level = level
        SecurityRecord.objects.create(
            user=user, action="kyc_level_set", acting_user=acting_user, detail={"level": level}
        )
    return user


def user_freeze(
    *,
    user: User,
    kind: str,
    reason: str,
    acting_user: User | None,
    symbol_id: str | None = None,
    token_id: str | None = None,
) -> UserFreeze:
    """Staff: freeze login, trading (all or one symbol) or withdrawal (all or one token), with a reason.

    ``acting_user=None`` is an Org API key of the user's organization, authorized by its surface.
    """
    if kind not in FreezeKind.values:
        raise InvalidParameter(_("Unknown freeze kind: %(kind)r") % {"kind": kind})
    if not reason.strip():
        raise InvalidParameter(_("A reason is required"))
    if symbol_id and kind != FreezeKind.TRADE:
        raise InvalidParameter(_("Only trade freezes take a symbol"))
    if token_id and kind != FreezeKind.WITHDRAW:
        raise InvalidParameter(_("Only withdrawal freezes take a token"))
    with transaction.atomic():
        freeze = UserFreeze.objects.create(
            user=user,
            kind=kind,
            symbol_id=symbol_id or None,
            token_id=token_id or None,
            reason=reason.strip(),
            created_by=acting_user,
        )
        security_record(
            user=user,
            action="freeze",
            acting_user=acting_user,
            kind=kind,
            symbol=symbol_id or "",
            token=token_id or "",
            reason=reason.strip(),
        )
    return freeze


def user_freeze_lift(*, freeze: UserFreeze, acting_user: User | None, reason: str) -> UserFreeze:
    if not reason.strip():
        raise InvalidParameter(_("A reason is required"))
    with transaction.atomic():
        lifted = UserFreeze.objects.filter(pk=freeze.pk, is_active=True).update(
            is_active=False, lifted_at=timezone.now(), lifted_by=acting_user, lift_reason=reason.strip()
        )
        if lifted != 1:
            raise Conflict(_("This freeze is not active"))
        freeze.refresh_from_db()
        security_record(
            user=freeze.user, action="unfreeze", acting_user=acting_user, kind=freeze.kind, reason=reason.strip()
        )
    return freeze


def code_request(
    *, purpose: str, organization: Organization, user: User | None, target: str = "", channel: str = ""
) -> str:
    """Send a verification code for ``purpose``; returns the (normalized) target it went to.

    * ``register``: a contact not registered yet (anyone);
    * ``reset_password``: a registered contact (anyone) — an unknown one gets no code, and the same
      answer, so this can't be used to probe for accounts;
    * ``bind``: a new contact for the logged-in user (not registered by anyone);
    * ``security`` / ``reset_fund_password``: the logged-in user's own email or phone (``channel``).
    """
    if purpose in (CodePurpose.SECURITY, CodePurpose.RESET_FUND_PASSWORD):
        if user is None:
            raise NotAuthenticated()
        if channel not in ("email", "sms"):
            raise InvalidParameter(_("channel must be email or sms"))
        own = user.email if channel == "email" else user.phone
        if not own:
            raise InvalidParameter(
                _("No %(field)s is bound") % {"field": contact_name("email" if channel == "email" else "phone")}
            )
        code_send(organization=organization, target=own, purpose=purpose)
        return own
    target = target_normalize(target)
    taken = user_find_by_contact(organization_id=organization.pk, target=target) is not None
    if purpose == CodePurpose.REGISTER:
        if taken:
            raise Conflict(_("This email or phone number is already registered"))
    elif purpose == CodePurpose.BIND:
        if user is None:
            raise NotAuthenticated()
        if taken:
            raise Conflict(_("This email or phone number is already registered"))
    elif purpose == CodePurpose.RESET_PASSWORD:
        if not taken:
            return target
    else:
        raise InvalidParameter(_("Unknown purpose: %(purpose)r") % {"purpose": purpose})
    code_send(organization=organization, target=target, purpose=purpose)
    return target


# --- the broker acting through the Org API (apps/orgapi) -----------------------------------------------
ORGANIZATION_SETTINGS = (
    "withdraw_auto_approve_threshold",
    "withdraw_dual_approval_threshold",
    "trading_kyc_level",
    "allow_internal_transfer",
)


def organization_settings_update(*, organization: Organization, **changes: object) -> Organization:
    """Change an organization's own settings (withdrawal approval thresholds, trading KYC gate, transfers)."""
    from decimal import Decimal

    unknown = sorted(set(changes) - set(ORGANIZATION_SETTINGS))
    if unknown:
        raise InvalidParameter(_("Unknown setting: %(names)s") % {"names": ", ".join(unknown)})
    with transaction.atomic():
        locked = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)  # apps.core.locks
        for name, value in changes.items():
            if name in ("withdraw_auto_approve_threshold", "withdraw_dual_approval_threshold"):
                if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                    raise InvalidParameter(_("%(name)s must be a non-negative amount") % {"name": name})
            elif name == "trading_kyc_level":
                if not isinstance(value, int) or not 0 <= value <= 3:
                    raise InvalidParameter(_("trading_kyc_level must be 0–3"))
            elif not isinstance(value, bool):
                raise InvalidParameter(_("%(name)s must be true or false") % {"name": name})
            setattr(locked, name, value)
        if locked.withdraw_dual_approval_threshold < locked.withdraw_auto_approve_threshold:
            raise InvalidParameter(
                _("withdraw_dual_approval_threshold must not be below withdraw_auto_approve_threshold")
            )
        if changes:
            locked.save(update_fields=list(changes))
    return locked


def user_update_by_organization(
    *,
    user: User,
    email: str | None = None,
    phone: str | None = None,
    password: str | None = None,
    fund_password: str | None = None,
    totp_reset: bool = False,
    language: str | None = None,
) -> User:
    """The broker's own back end changes a user's settings without the user's second factor.

    ``None`` leaves a field alone; ``email=""`` / ``phone=""`` removes it (one of the two must stay).
    Each change writes a ``SecurityRecord`` (``by_organization``) and its outbox event in one transaction.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.users.security import fund_password_validate

    changes: dict[str, str] = {}
    for field, value in (("email", email), ("phone", phone)):
        if value is None:
            continue
        value = value.strip()
        if value:
            value = target_normalize(value)
            if (field == "email") != is_email(value):
                raise InvalidParameter(
                    _("Not a valid %(field)s: %(value)r") % {"field": contact_name(field), "value": value}
                )
            if field == "email":
                try:
                    validate_email(value)
                except ValidationError:
                    raise InvalidParameter(_("Invalid email address: %(email)r") % {"email": value}) from None
        if value == getattr(user, field):
            continue
        changes[field] = value
    if not (changes.get("email", user.email) or changes.get("phone", user.phone)):
        raise InvalidParameter(_("A user keeps an email or a phone number"))
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidParameter("; ".join(exc.messages)) from None
    if fund_password is not None:
        fund_password_validate(user=user, password=fund_password)
    if language is not None and language not in dict(settings.LANGUAGES):
        raise InvalidParameter(_("Unsupported language: %(language)r") % {"language": language})
    with transaction.atomic():
        for field, value in changes.items():
            current = getattr(user, field)
            setattr(user, field, value)
            try:
                with transaction.atomic():
                    user.save(update_fields=[field])
            except IntegrityError:
                raise Conflict(_("This %(field)s is already registered") % {"field": contact_name(field)}) from None
            action = f"{field}_unbind" if not value else (f"{field}_change" if current else f"{field}_bind")
            security_record(user=user, action=action, by_organization=True)
        if password is not None:
            user.set_password(password)
            user.save(update_fields=["password"])
            security_record(user=user, action="password_reset", by_organization=True)
        if fund_password is not None:
            from django.contrib.auth.hashers import make_password

            changing = bool(user.fund_password)
            user.fund_password = make_password(fund_password)
            user.save(update_fields=["fund_password"])
            security_record(
                user=user, action="fund_password_reset" if changing else "fund_password_set", by_organization=True
            )
        if totp_reset and TOTPDevice.objects.filter(user=user).exists():
            TOTPDevice.objects.filter(user=user).delete()
            security_record(user=user, action="totp_unbind", by_organization=True)
        if language is not None and language != user.language:
            user.language = language
            user.save(update_fields=["language"])
    return user
