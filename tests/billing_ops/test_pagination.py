import pytest

from accounts.models import Tenant
from billing_ops.pagination import InvalidCursor, paginate
from tests.factories import TenantFactory


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["name", "-name", "-id", "credit_balance"])
def test_walking_forward_and_back_visits_every_row_once_even_with_ties(sort):
    for i in range(23):
        TenantFactory(name=f"T{i % 4}")  # many ties on name and credit_balance
    seen, cursor, pages = [], None, []
    while True:
        page = paginate(Tenant.objects.all(), sort=sort, page_size=5, cursor=cursor)
        pages.append(page)
        seen.extend(t.pk for t in page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 23
    back = paginate(Tenant.objects.all(), sort=sort, page_size=5, cursor=pages[-1].prev_cursor)
    assert [t.pk for t in back.items] == [t.pk for t in pages[-2].items]
    assert pages[0].prev_cursor is None


@pytest.mark.django_db
def test_bad_cursor_is_refused():
    with pytest.raises(InvalidCursor):
        paginate(Tenant.objects.all(), sort="name", page_size=5, cursor="not-a-cursor")
