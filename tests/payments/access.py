"""Access rules for every payments URL (collected by tests/access_rules.py)."""
from billing_ops.access import APPROVE, CONFIGURE_PAYMENTS, PUBLIC, READ, WRITE

EXPECTED = {
    "payments:list": {"GET": READ},
    "payments:manual": {"GET": WRITE, "POST": WRITE},
    "payments:review": {"GET": READ},
    "payments:review-resolve": {"POST": WRITE},
    "payments:auto-charge": {"POST": WRITE},
    "payments:charge-invoice": {"POST": WRITE},
    "payments:detail": {"GET": READ},
    "payments:refund": {"POST": APPROVE},
    "payments:method-default": {"POST": WRITE},
    "payments:config": {"GET": CONFIGURE_PAYMENTS, "POST": CONFIGURE_PAYMENTS},
    "payments:config-test": {"POST": CONFIGURE_PAYMENTS},
    "api:payment-list": {"GET": READ, "POST": WRITE},
    "api:payment-list-noslash": {"GET": READ, "POST": WRITE},
    "api:payment-detail": {"GET": READ},
    "api:payment-refund": {"POST": APPROVE},
    "api:auto-charge-run": {"POST": WRITE},
    "api:payment-config": {"GET": CONFIGURE_PAYMENTS, "PUT": CONFIGURE_PAYMENTS},
    "api:payment-config-test": {"POST": CONFIGURE_PAYMENTS},
    "webhooks:paystack": {"POST": PUBLIC},
}

# Public URLs that authenticate each request themselves: the matrix expects 401 from an unsigned request.
SIGNATURE_AUTHENTICATED = {"webhooks:paystack"}


def build(world):
    from payments.models import WebhookEvent
    from tests.factories import InvoiceFactory, TenantFactory
    from tests.payments.factories import PaymentFactory, PaymentMethodFactory

    tenant = getattr(world, "tenant", None) or TenantFactory(name="Payments Matrix Tenant")
    world.payment_invoice = InvoiceFactory(tenant=tenant)
    world.payment = PaymentFactory(invoice=world.payment_invoice, amount="10.00", applied_amount="10.00")
    world.payment_method = PaymentMethodFactory(tenant=tenant)
    world.webhook_event = WebhookEvent.objects.create(
        event="charge.success", dedupe_key="charge.success:ref:matrix", raw_body="{}", payload={},
        status="review", needs_review=True, review_reason="matrix",
    )


SAMPLES = {
    "payments:review-resolve": lambda world: {"pk": world.webhook_event.pk},
    "payments:charge-invoice": lambda world: {"invoice_pk": world.payment_invoice.pk},
    "payments:detail": lambda world: {"pk": world.payment.pk},
    "payments:refund": lambda world: {"pk": world.payment.pk},
    "payments:method-default": lambda world: {"pk": world.payment_method.pk},
    "api:payment-detail": lambda world: {"pk": world.payment.pk},
    "api:payment-refund": lambda world: {"pk": world.payment.pk},
}
