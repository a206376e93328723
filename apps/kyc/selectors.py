"""KYC reads, including the level gates other services consult."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext as _

from apps.core.errors import KycLevelRequired
from apps.kyc.models import KycApplication, KycCountry, KycState
from apps.users.models import User


def kyc_level_require(*, user: User, level: int) -> None:
    """The gate other services call: raise ``KycLevelRequired`` unless the user has ``level``.

    Withdrawal limits per level are the funding app's ``WithdrawalLimit`` table (docs/funding.md),
    which reads ``User.kyc_level`` as set by KYC approval.
    """
    if user.kyc_level < level:
        raise KycLevelRequired(
            _("KYC level %(level)s is required (you have %(current)s)") % {"level": level, "current": user.kyc_level}
        )


def kyc_applications_of(*, user: User) -> QuerySet[KycApplication]:
    return (
        KycApplication.objects.filter(user=user).select_related("country").prefetch_related("documents").order_by("-id")
    )


def kyc_review_queue() -> QuerySet[KycApplication]:
    """Applications waiting for review first (oldest first), then the reviewed ones."""
    return (
        KycApplication.objects.select_related("user", "country", "reviewer")
        .annotate(
            pending=Case(When(state=KycState.SUBMITTED, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .order_by("pending", "created_at")
    )


def kyc_countries() -> QuerySet[KycCountry]:
    return KycCountry.objects.all()
