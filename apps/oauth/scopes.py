"""The OAuth API's scopes (seed 000/001) and the scopes backend django-oauth-toolkit asks.

Each scope guards one group of resource endpoints. The consent page shows ``SCOPE_DESCRIPTIONS``,
translated into the user's language. An application may request only the scopes staff allowed it
(``AppRegistration.allowed_scopes``); asking for none means asking for all of those.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from oauth2_provider.scopes import BaseScopes

USER_INFO = "userInfo"
ACCOUNT_INFO = "accountInfo"
ACCOUNT_DETAIL = "accountDetail"
TRADE_INFO = "tradeInfo"
TRADE = "trade"

SCOPES = (USER_INFO, ACCOUNT_INFO, ACCOUNT_DETAIL, TRADE_INFO, TRADE)

SCOPE_DESCRIPTIONS: dict[str, Promise] = {
    USER_INFO: _("See your profile: user id, email, phone number and KYC level"),
    ACCOUNT_INFO: _("See your accounts, balances and deposit addresses"),
    ACCOUNT_DETAIL: _("See your balance flow and your deposit and withdrawal history"),
    TRADE_INFO: _("See your open orders, order history and trades"),
    TRADE: _("Place and cancel spot orders for you"),
}


def scopes_parse(value: str) -> list[str]:
    """Known scopes named in a space-separated string, in the canonical order."""
    names = set(value.split())
    return [scope for scope in SCOPES if scope in names]


def allowed_scopes_of(application: Any) -> list[str]:
    """Scopes staff allowed ``application``; none for an application without a registration."""
    registration = getattr(application, "registration", None) if application is not None else None
    if registration is None:
        return []
    return scopes_parse(registration.allowed_scopes)


class ApplicationScopes(BaseScopes):
    """``SCOPES_BACKEND_CLASS``: every scope exists; each application gets only its allowed ones."""

    def get_all_scopes(self) -> dict[str, Promise]:
        return dict(SCOPE_DESCRIPTIONS)

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return allowed_scopes_of(application)

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        return allowed_scopes_of(application)
