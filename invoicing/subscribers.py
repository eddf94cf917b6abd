"""Event subscribers of invoicing (registered in InvoicingConfig.ready). They run inside the emitting
transaction, so they only touch invoicing rows and never raise for events that do not concern them."""
from __future__ import annotations

from billing_ops import events


@events.subscribe("payment.refunded", "payment.refund_failed")
def _on_credit_note_refund_outcome(event) -> None:
    """The payments app executed (part of) a credit note's refund: keep the note's refund status in step.

    payments has already recorded the money on the invoice (``invoice_record_refund``); this only
    follows up on the note (``processing`` → ``processed`` once every part is processed, or ``failed``).
    """
    from billing_ops.actors import system
    from invoicing.services import credit_note_refund_outcome

    note_id = event.payload.get("credit_note_id")
    if not note_id:
        return
    credit_note_refund_outcome(actor=system("invoicing.refunds"), credit_note_id=note_id,
                               succeeded=event.name == "payment.refunded", reason=event.payload.get("reason") or "")
