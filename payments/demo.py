"""Demo data for payments: Paystack in test mode against the bundled fake, saved cards whose
authorization codes script the fake (some succeed, some decline), manual payments and a few
declined attempts (which open dunning cases)."""
from __future__ import annotations

import os
from decimal import Decimal

from payments.models import Payment, PaymentMethodKind, PaymentStatus
from payments.services import (
    payment_config_update,
    payment_mark_failed,
    payment_method_create,
    payment_record_manual,
)

DEMO_SECRET_KEY = "sk_test_demo0000000000000000000000000000001"  # scripts/run's default
DEMO_PUBLIC_KEY = "pk_test_demo0000000000000000000000000000001"

# Per tenant (by position in ctx["tenants"]): the fake's outcome for that tenant's card, or None for no card.
# The fake reads the outcome from the code: AUTH_<outcome>_<anything> (see docs/payments.md).
# Berlin (EUR) has no card: Paystack does not charge EUR.
CARD_OUTCOMES = [
    "success", "insufficient_funds", "success", "do_not_honour", "webhook_later", "expired_card",
    "webhook_twice", "success", None, "slow", "success", None,
]
DECLINES = {"insufficient_funds": "Insufficient Funds", "do_not_honour": "Do Not Honor", "expired_card": "Expired Card"}


def seed(ctx: dict) -> None:
    actor = ctx["actor"]
    secret = os.environ.get("PAYSTACK_DEMO_SECRET_KEY") or DEMO_SECRET_KEY
    payment_config_update(actor=actor, mode="test", test_secret_key=secret, test_public_key=DEMO_PUBLIC_KEY)

    cards = []
    for index, tenant in enumerate(ctx.get("tenants") or []):
        outcome = CARD_OUTCOMES[index % len(CARD_OUTCOMES)]
        if outcome is None or tenant.status == "closed":
            continue
        slug = "".join(ch for ch in tenant.name.lower() if ch.isalnum())[:20]
        cards.append(payment_method_create(
            actor=actor, tenant=tenant, authorization_code=f"AUTH_{outcome}_{slug}", email=tenant.billing_email,
            brand=("visa", "mastercard", "verve")[index % 3], last4=f"{4081 + index:04d}"[-4:], exp_month=(index % 12) + 1,
            exp_year=2020 if outcome == "expired_card" else 2029, bank="TEST BANK",
        ))
    ctx["payment_methods"] = cards
    card_outcome = {card.tenant_id: card.authorization_code.split("_", 1)[1] for card in cards}

    payments = []
    declined_tenants = set()
    for invoice in ctx.get("invoices") or []:
        invoice.refresh_from_db()
        if invoice.status not in ("issued", "overdue") or invoice.amount_due <= 0 or not invoice.number:
            continue
        outcome = next((o for o in DECLINES if card_outcome.get(invoice.tenant_id, "").startswith(o)), None)
        if invoice.tenant_id not in card_outcome:
            # No card: the customer paid part by bank transfer.
            half = (invoice.amount_due / 2).quantize(Decimal("0.01"))
            if half > 0:
                payments.append(payment_record_manual(
                    actor=actor, invoice=invoice, amount=half, method=PaymentMethodKind.BANK_TRANSFER,
                    reference=f"NIP-{invoice.number}", note="Partial transfer (demo)",
                ))
        elif outcome and invoice.tenant_id not in declined_tenants and invoice.status == "overdue":
            # One historical declined attempt per declining tenant (opens its dunning case); the rest of
            # its invoices are left for the auto-charge button to fail visibly.
            declined_tenants.add(invoice.tenant_id)
            attempt = Payment.objects.create(
                tenant_id=invoice.tenant_id, invoice=invoice, amount=invoice.amount_due, currency=invoice.currency,
                method=PaymentMethodKind.CARD, status=PaymentStatus.PENDING, reference=f"{invoice.number}-A1", attempt=1,
                reason="auto",
            )
            payments.append(payment_mark_failed(actor=actor, payment=attempt, code=outcome, message=DECLINES[outcome]))
    ctx["payments"] = payments
    out = ctx.get("stdout")
    if out is not None:
        out.write(f"    payments: Paystack test mode (fake), {len(cards)} saved cards, {len(payments)} payments/attempts")
