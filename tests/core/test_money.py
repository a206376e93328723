from decimal import Decimal

import pytest

from apps.core.errors import InvalidAmount
from apps.core.money import check_storable, fmt, is_multiple, quantize_down, quantize_up, to_decimal


@pytest.mark.parametrize("value", [0.1, True, "abc", "", "NaN", "Infinity", None, [1]])
def test_to_decimal_refuses_floats_and_garbage(value):
    with pytest.raises(InvalidAmount):
        to_decimal(value)


def test_to_decimal_accepts_strings_ints_decimals():
    assert to_decimal(" 1.50 ") == Decimal("1.50")
    assert to_decimal(3) == Decimal(3)
    assert to_decimal(Decimal("2")) == Decimal(2)


def test_rounding_directions():
    assert quantize_down(Decimal("1.239"), 2) == Decimal("1.23")
    assert quantize_down(Decimal("-1.239"), 2) == Decimal("-1.23")
    assert quantize_up(Decimal("1.231"), 2) == Decimal("1.24")


def test_check_storable_limits():
    assert check_storable(Decimal("0.000000000000000001")) == Decimal("1E-18")
    with pytest.raises(InvalidAmount):
        check_storable(Decimal("0.0000000000000000001"))
    with pytest.raises(InvalidAmount):
        check_storable(Decimal("1e20"))


def test_fmt_never_uses_exponents():
    assert fmt(Decimal("1E-8")) == "0.00000001"
    assert fmt(Decimal("100.500")) == "100.5"
    assert fmt(Decimal("1E+3")) == "1000"
    assert fmt(Decimal("0E-18")) == "0"
    assert fmt(Decimal("1.5"), 4) == "1.5000"


def test_is_multiple():
    assert is_multiple(Decimal("1.23"), Decimal("0.01"))
    assert not is_multiple(Decimal("1.234"), Decimal("0.01"))
