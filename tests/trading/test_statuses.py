from decimal import Decimal

import pytest

from apps.trading.models import OrderStatus
from apps.trading.statuses import bge_code, bhex_status


@pytest.mark.parametrize(
    "status, executed, bhex, bge",
    [
        (OrderStatus.PENDING, "0", "NEW", 0),
        (OrderStatus.NEW, "0", "NEW", 1),
        (OrderStatus.PARTIALLY_FILLED, "1", "PARTIALLY_FILLED", 2),
        (OrderStatus.FILLED, "2", "FILLED", 3),
        (OrderStatus.CANCELED, "0", "CANCELED", 4),
        (OrderStatus.CANCELED, "0.5", "CANCELED", 5),
        (OrderStatus.REJECTED, "0", "REJECTED", 6),
    ],
)
def test_every_status_maps_on_every_surface(status, executed, bhex, bge):
    assert bhex_status(status) == bhex
    assert bge_code(status, Decimal(executed)) == bge


def test_every_stored_status_is_mapped():
    for status in OrderStatus.values:
        bhex_status(status)
        bge_code(status, Decimal(0))
