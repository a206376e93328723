"""Listing writes: tokens, chains, symbols and their status (list / pause / delist)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.errors import InvalidParameter
from apps.tokens.models import ChainNetwork, Symbol, SymbolStatus, Token
from apps.users.models import User


def token_create(*, id: str, name: str = "", precision: int = 8, **fields: Any) -> Token:
    token = Token(id=id.upper(), name=name or id.upper(), precision=precision, **fields)
    token.full_clean()
    token.save(force_insert=True)
    return token


def chain_create(*, token: Token, chain: str, **fields: Any) -> ChainNetwork:
    network = ChainNetwork(token=token, chain=chain, **fields)
    network.full_clean()
    network.save(force_insert=True)
    return network


def symbol_create(*, base: Token, quote: Token, **fields: Any) -> Symbol:
    symbol = Symbol(id=f"{base.pk}{quote.pk}", base=base, quote=quote, **fields)
    symbol.full_clean()
    symbol.save(force_insert=True)
    return symbol


def symbol_set_status(*, symbol: Symbol, status: str, acting_user: User | None = None, reason: str = "") -> Symbol:
    """Change a symbol's trading status. ``off`` also cancels every resting order (after commit)."""
    if status not in SymbolStatus.values:
        raise InvalidParameter(_("Unknown symbol status %(status)r") % {"status": status})
    with transaction.atomic():
        locked = Symbol.objects.select_for_update().get(pk=symbol.pk)
        locked.status = status
        if status == SymbolStatus.ON:
            locked.is_listed = True
        locked._change_reason = reason or f"status → {status}"  # type: ignore[attr-defined]
        locked.save(update_fields=["status", "is_listed"])
        if status == SymbolStatus.OFF:
            from apps.trading.services import symbol_cancel_resting

            symbol_cancel_resting(symbol=locked, reason=reason or "symbol delisted")
    return locked


def symbol_fee_rates(symbol: Symbol) -> tuple[Decimal, Decimal]:
    return symbol.maker_fee_rate, symbol.taker_fee_rate
