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


_invoice = lambda world: {"pk": world.invoice.pk}  # noqa: E731
_draft = lambda world: {"pk": world.draft_invoice.pk}  # noqa: E731
_note = lambda world: {"pk": world.credit_note.pk}  # noqa: E731
SAMPLES = {
    "api:invoice-detail": _invoice,
    "api:invoice-send": _draft,
    "api:invoice-void": _draft,
    "api:invoice-uncollectible": _invoice,
    "api:credit-note-detail": _note,
    "api:credit-note-approve": _note,
    "api:credit-note-void": _note,
}
