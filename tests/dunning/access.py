from billing_ops.access import READ, WRITE

EXPECTED = {
    "dunning:queue": {"GET": READ},
    "dunning:bulk-remind": {"POST": WRITE},
    "dunning:policy": {"GET": READ, "POST": WRITE},
    "dunning:templates": {"GET": READ},
    "dunning:template-edit": {"GET": READ, "POST": WRITE},
    "dunning:outbox-resend": {"POST": WRITE},
    "dunning:tenant-preferences": {"POST": WRITE},
    "dunning:detail": {"GET": READ},
    "dunning:remind": {"POST": WRITE},
    "dunning:suspend": {"POST": WRITE},
    "dunning:write-off": {"POST": WRITE},
    "api:dunning-list": {"GET": READ},
    "api:dunning-policy": {"GET": READ, "PUT": WRITE},
    "api:dunning-outbox-resend": {"POST": WRITE},
    "api:dunning-detail": {"GET": READ},
    "api:dunning-remind": {"POST": WRITE},
    "api:dunning-suspend": {"POST": WRITE},
}


def build(world):
    from django.db import transaction

    from dunning.outbox import outbox_write
    from tests.dunning.factories import make_invoice, open_case

    tenant = getattr(world, "tenant", None)
    world.dunning_case = open_case(make_invoice(tenant=tenant) if tenant else None)
    with transaction.atomic():
        world.outbox_event = outbox_write(tenant_id=world.dunning_case.tenant_id, event_type="tenant.suspended", data={})


_case = lambda world: {"pk": world.dunning_case.pk}
_event = lambda world: {"pk": world.outbox_event.pk}
SAMPLES = {
    "dunning:template-edit": lambda world: {"kind": "dunning_reminder"},
    "dunning:outbox-resend": _event,
    "api:dunning-outbox-resend": _event,
    "dunning:tenant-preferences": lambda world: {"pk": world.dunning_case.tenant_id},
    "dunning:detail": _case,
    "dunning:remind": _case,
    "dunning:suspend": _case,
    "dunning:write-off": _case,
    "api:dunning-detail": _case,
    "api:dunning-remind": _case,
    "api:dunning-suspend": _case,
}
