"""Bulk writes (``billing_ops.bulk``) store what ``save()`` stores, and batch events read back as single ones."""
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEntry
from billing_ops import events
from billing_ops.actors import system
from billing_ops.bulk import insert_rows, insert_values
from billing_ops.events import _jsonable
from billing_ops.models import DomainEvent
from dunning.models import Notification
from invoicing.models import Invoice, InvoiceLine
from tests.factories import TenantFactory

D = Decimal


def _stored(obj, skip=("id", "created_at", "updated_at")):
    obj.refresh_from_db()
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in skip}


@pytest.mark.django_db
def test_insert_values_stores_what_save_stores():
    tenant = TenantFactory()
    values = {"tenant_id": tenant.pk, "currency": "NGN", "status": "issued", "number": "INV-X-1", "subtotal": D("10.50"),
              "total": D("11.29"), "issue_date": dt.date(2026, 11, 2), "issued_at": timezone.now(),
              "seller_details": {"name": "Seller", "lines": [1, "2"]}, "buyer_details": {}}
    saved = Invoice(**values)
    saved.save()
    [pk] = insert_values(Invoice, list(values), [tuple({**values, "number": "INV-X-2"}.values())], with_ids=True)
    copied = Invoice.objects.get(pk=pk)
    assert copied.created_at is not None and copied.updated_at is not None
    assert _stored(copied) == {**_stored(saved), "number": "INV-X-2"}


@pytest.mark.django_db
def test_insert_values_fills_defaults_and_callable_defaults_per_row():
    before = timezone.now()
    insert_values(DomainEvent, ["name", "payload"], [("a.b", {"x": 1}), ("a.b", {"x": 2})])
    rows = list(DomainEvent.objects.order_by("payload__x"))
    assert [r.payload for r in rows] == [{"x": 1}, {"x": 2}]
    assert len({r.id for r in rows}) == 2 and all(r.created_at >= before and r.actor_label == "" for r in rows)


@pytest.mark.django_db
def test_insert_rows_and_insert_values_write_the_same_line():
    tenant = TenantFactory()
    invoice = Invoice.objects.create(tenant=tenant, currency="NGN")
    fields = {"position": 0, "kind": "plan", "description": "Plan", "quantity": D("1.5"), "unit_price": D("0.0035"),
              "tax_rate": D("7.5"), "amount": D("0.01"), "net": D("0.01"), "total": D("0.01"), "period_start": dt.date(2026, 1, 1)}
    insert_rows(InvoiceLine, [InvoiceLine(invoice=invoice, **fields)])
    insert_values(InvoiceLine, ["invoice_id", *fields], [(invoice.pk, *fields.values())])
    first, second = invoice.lines.order_by("id")
    assert _stored(first) == _stored(second)


@pytest.mark.parametrize("payload", [
    {"a": 1, "b": "x", "c": None, "d": True, "e": D("1.10"), "f": dt.date(2026, 1, 2)},
    {"when": dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC), "id": uuid.UUID(int=5), "n": 1.5},
    {"nested": {"list": [D("2"), (1, 2), {3: "int key"}]}, "status": Invoice._meta.get_field("status").default},
])
def test_jsonable_is_the_json_round_trip(payload):
    assert _jsonable(payload) == json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


@pytest.mark.django_db
def test_batch_audit_and_events_read_back_like_single_ones():
    tenant = TenantFactory()
    actor = system("tests")
    seen = []
    events.subscribe("test.bulk")(seen.append)
    try:
        with transaction.atomic():
            audit.record(actor=actor, action="x.done", obj=tenant, before={"a": D("1.00")}, after={"on": dt.date(2026, 1, 1)})
            audit.record_many(actor=actor, entries=[{"action": "x.done", "obj": tenant, "before": {"a": D("1.00")},
                                                     "after": {"on": dt.date(2026, 1, 1)}}])
            single = events.emit("test.bulk", actor=actor, total=D("2.50"), day=dt.date(2026, 1, 1))
            [many] = events.emit_many("test.bulk", actor=actor, payloads=[{"total": D("2.50"), "day": dt.date(2026, 1, 1)}])
    finally:
        events._subscribers.pop("test.bulk")
    first, second = AuditEntry.objects.filter(action="x.done").order_by("id")
    assert _stored(first) == _stored(second)
    assert many.payload == single.payload and many.record.pk and many.record.created_at
    stored = DomainEvent.objects.get(pk=many.record.pk)
    assert (stored.name, stored.payload, stored.actor_label) == ("test.bulk", single.payload, single.record.actor_label)
    assert seen == [single, many]


@pytest.mark.django_db
def test_insert_values_on_an_empty_batch_does_nothing():
    assert insert_values(Notification, ["tenant_id"], [], with_ids=True) == []
    assert insert_values(Notification, ["tenant_id"], []) is None
