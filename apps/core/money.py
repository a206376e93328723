"""Decimal rules for money (DESIGN.md §5).

* Amounts are ``Decimal`` end to end; a float never touches money. Parse with ``to_decimal`` (which
  rejects floats, NaN and infinities) and render with ``fmt`` (plain digits, never an exponent).
* Arithmetic runs under ``MONEY_CONTEXT``: 60 significant digits, enough for products of two
  38-digit columns, with traps so an inexact overflow raises instead of silently rounding.
* Rounding happens only at the edges, to a token's or symbol's precision, with an explicit mode.
  ``ROUND_DOWN`` is used wherever rounding decides what a party *receives*: rounding then never
  creates money; the unrounded remainder stays with the payer (DESIGN.md §5).
* Storage is ``DecimalField(max_digits=38, decimal_places=18)``: ``AMOUNT_PLACES`` digits after the
  point, so any amount with more fractional digits is invalid input, not something to round.
"""

from __future__ import annotations

from decimal import (
    ROUND_DOWN,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from apps.core.errors import InvalidAmount

MAX_DIGITS = 38
AMOUNT_PLACES = 18
AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)
ZERO = Decimal(0)
MONEY_CONTEXT = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])


def money_context() -> Any:
    """``with money_context():`` for any arithmetic on amounts."""
    return localcontext(MONEY_CONTEXT)


class AmountField(models.DecimalField):  # type: ignore[type-arg]
    """A money amount column: 38 digits, 18 after the point, default 0."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", AMOUNT_PLACES)
        kwargs.setdefault("default", ZERO)
        super().__init__(*args, **kwargs)


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse client or config input into a finite Decimal. Floats are refused: they already lost digits."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidAmount(_("%(field)s: pass amounts as strings, not floating-point numbers") % {"field": field})
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidAmount(_("%(field)s: empty") % {"field": field})
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise InvalidAmount(_("%(field)s: not a number: %(value)r") % {"field": field, "value": value}) from None
    else:
        raise InvalidAmount(_("%(field)s: not a number: %(value)r") % {"field": field, "value": value})
    if not result.is_finite():
        raise InvalidAmount(_("%(field)s: must be finite") % {"field": field})
    return result


def check_storable(value: Decimal, *, field: str = "amount") -> Decimal:
    """Refuse an amount the ledger columns cannot hold exactly (too many digits before or after the point)."""
    if value != value.quantize(AMOUNT_QUANTUM, rounding=ROUND_DOWN, context=MONEY_CONTEXT):
        raise InvalidAmount(
            _("%(field)s: more than %(places)s decimal places") % {"field": field, "places": AMOUNT_PLACES}
        )
    if abs(value) >= Decimal(10) ** (MAX_DIGITS - AMOUNT_PLACES):
        raise InvalidAmount(_("%(field)s: too large") % {"field": field})
    return value


def quantize_down(value: Decimal, places: int) -> Decimal:
    """Round toward zero to ``places`` decimals: what a receiver gets never exceeds the exact amount."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN, context=MONEY_CONTEXT)


def quantize_up(value: Decimal, places: int) -> Decimal:
    """Round away from zero: used for amounts a payer must cover (holds), so a hold is never short."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_UP, context=MONEY_CONTEXT)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is a whole number of ``step``s (tick and lot-size checks)."""
    if step <= 0:
        return True
    with money_context():
        return (value / step) == (value / step).to_integral_value()


def fmt(value: Decimal | None, places: int | None = None) -> str:
    """Render an amount as a plain string (no exponent, no trailing zeros unless ``places`` is given)."""
    if value is None:
        return "0"
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN, context=MONEY_CONTEXT)
        return f"{value:f}"
    text = f"{value.normalize(MONEY_CONTEXT):f}" if value else "0"
    return text
