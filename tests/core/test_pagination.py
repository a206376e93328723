import pytest

from apps.core.errors import InvalidParameter
from apps.core.pagination import page_by_id
from apps.tokens.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    from apps.events.models import OutboxEvent

    return [OutboxEvent.objects.create(type="t", payload={"n": n}).pk for n in range(10)], OutboxEvent.objects.all()


def test_paging_semantics(rows):
    ids, qs = rows
    assert [r.pk for r in page_by_id(qs, limit=3)] == ids[::-1][:3]
    assert [r.pk for r in page_by_id(qs, from_id=ids[5], limit=3)] == [ids[4], ids[3], ids[2]]
    assert [r.pk for r in page_by_id(qs, to_id=ids[5], limit=3)] == [ids[6], ids[7], ids[8]]
    assert [r.pk for r in page_by_id(qs, from_id=ids[5], to_id=ids[1])] == [ids[4], ids[3], ids[2]]


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_limit_bounds(limit):
    with pytest.raises(InvalidParameter):
        page_by_id(Token.objects.all(), limit=limit)
