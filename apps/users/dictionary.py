"""The enums a client needs, in one read (``GET /api/v1/dictionary``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def dictionary() -> dict[str, Any]:
    from apps.kyc.models import KycLevel
    from apps.kyc.selectors import kyc_countries
    from apps.tokens.models import ChainNetwork
    from apps.trading.models import OrderStatus, OrderType

    return {
        "order_statuses": list(OrderStatus.values),
        "order_types": list(OrderType.values),
        "kyc_levels": [{"level": value, "name": label} for value, label in KycLevel.choices],
        "countries": [
            {
                "code": c.code,
                "name": c.name,
                "individual": c.individual_allowed,
                "corporate": c.corporate_allowed,
            }
            for c in kyc_countries()
        ],
        "chains": [
            {
                "token": c.token_id,
                "chain": c.chain,
                "needs_memo": c.needs_memo,
                "deposit_enabled": c.deposit_enabled,
                "withdraw_enabled": c.withdraw_enabled,
            }
            for c in ChainNetwork.objects.order_by("token_id", "chain")
        ],
        "languages": [{"code": code, "name": name} for code, name in settings.LANGUAGES],
    }
