from billing_ops.access import APPROVE, READ, WRITE

EXPECTED = {
    "api:invoice-list": {"GET": READ, "POST": WRITE},
    "api:invoice-preview": {"POST": WRITE},
    "api:invoice-detail": {"GET": READ},
    "api:invoice-send": {"POST": WRITE},
    "api:invoice-void": {"POST": WRITE},
    "api:invoice-uncollectible": {"POST": WRITE},
    "api:credit-note-list": {"GET": READ, "POST": WRITE},
    "api:credit-note-detail": {"GET": READ},
    "api:credit-note-approve": {"POST": APPROVE},
    "api:credit-note-void": {"POST": WRITE},
    "invoicing:list": {"GET": READ},
    "invoicing:export-csv": {"GET": READ},
    "invoicing:export-pdf": {"GET": READ},
    "invoicing:detail": {"GET": READ},
    "invoicing:pdf": {"GET": READ},
    "invoicing:send": {"POST": WRITE},
    "invoicing:void": {"POST": WRITE},
    "invoicing:mark-uncollectible": {"POST": WRITE},
    "invoicing:create": {"GET": WRITE, "POST": WRITE},
    "invoicing:credit-note-list": {"GET": READ},
    "invoicing:credit-note-detail": {"GET": READ},
    "invoicing:credit-note-pdf": {"GET": READ},
    "invoicing:credit-note-approve": {"POST": APPROVE},
    "invoicing:credit-note-void": {"POST": WRITE},
    "invoicing:credit-note-create": {"GET": WRITE, "POST": WRITE},
}


def build(world):
    from billing_ops.actors import system
    from invoicing.services import credit_note_create
    from tests.factories import TenantFactory
    from tests.invoicing.factories import make_invoice

    tenant = getattr(world, "tenant", None) or TenantFactory(name="Matrix Tenant")
    world.invoice = make_invoice(tenant=tenant)
    world.draft_invoice = make_invoice(tenant=tenant, issue=False)
    world.credit_note = credit_note_create(actor=system("tests"), invoice=world.invoice, reason="matrix", amount="1.00")


_invoice = lambda world: {"pk": world.invoice.pk}
_draft = lambda world: {"pk": world.draft_invoice.pk}
_note = lambda world: {"pk": world.credit_note.pk}
SAMPLES = {
    "api:invoice-detail": _invoice,
    "api:invoice-send": _draft,
    "api:invoice-void": _draft,
    "api:invoice-uncollectible": _invoice,
    "api:credit-note-detail": _note,
    "api:credit-note-approve": _note,
    "api:credit-note-void": _note,
    "invoicing:detail": _invoice,
    "invoicing:pdf": _invoice,
    "invoicing:send": _draft,
    "invoicing:void": _draft,
    "invoicing:mark-uncollectible": _invoice,
    "invoicing:credit-note-detail": _note,
    "invoicing:credit-note-pdf": _note,
    "invoicing:credit-note-approve": _note,
    "invoicing:credit-note-void": _note,
}
