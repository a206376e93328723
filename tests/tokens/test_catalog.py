from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.tokens.models import OrganizationSymbol, OrganizationToken, SymbolStatus
from apps.tokens.selectors import symbols_offered, tokens_offered
from apps.tokens.services import symbol_set_status, token_create

pytestmark = pytest.mark.django_db


def test_new_organization_offers_everything_listed_until_staff_opt_out(org, other_org, btcusdt, tokens):
    assert [t.pk for t in tokens_offered(organization_id=org.pk)] == ["BTC", "ETH", "USDT"]
    assert [s.pk for s in symbols_offered(organization_id=org.pk)] == ["BTCUSDT"]
    OrganizationSymbol.objects.create(organization=org, symbol=btcusdt, enabled=False)
    assert list(symbols_offered(organization_id=org.pk)) == []
    assert [s.pk for s in symbols_offered(organization_id=other_org.pk)] == ["BTCUSDT"]
    OrganizationToken.objects.create(organization=other_org, token=tokens["USDT"], enabled=False)
    assert [t.pk for t in tokens_offered(organization_id=other_org.pk)] == ["BTC", "ETH"]
    # a symbol whose quote token is switched off is not offered either
    assert list(symbols_offered(organization_id=other_org.pk)) == []


def test_token_id_validation(db):
    with pytest.raises(ValidationError):
        token_create(id="bad id!")


def test_symbol_status_changes(btcusdt):
    assert symbol_set_status(symbol=btcusdt, status=SymbolStatus.PAUSE).status == "pause"
    assert symbol_set_status(symbol=btcusdt, status=SymbolStatus.ON).status == "on"
    assert btcusdt.history.count() >= 3  # audited by simple-history


def test_symbol_precision_helpers(btcusdt):
    assert (btcusdt.price_places, btcusdt.quantity_places) == (2, 4)


@pytest.mark.django_db(transaction=True)
def test_tick_and_step_are_frozen_while_orders_rest(traders, place, btcusdt):
    from decimal import Decimal

    alice, _ = traders
    order = place(alice, "sell", price="100", quantity="1")
    btcusdt.price_tick = Decimal("0.1")
    with pytest.raises(ValidationError):
        btcusdt.full_clean()
    from apps.trading.services import order_cancel

    order_cancel(user=alice, order_id=order.pk)
    btcusdt.full_clean()  # no open orders: allowed
