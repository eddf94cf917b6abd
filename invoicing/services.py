"""Invoice writes. Each function is one transaction: lock, check the transition table, audit, emit.

Amount invariant kept by every service here:
    amount_due = total − amount_paid − amount_credited + amount_refunded   (never negative)
``amount_credited`` is what approved credit notes took off the invoice; ``amount_refunded`` is
the part of that credit returned to the customer (by gateway refund or as account credit).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from billing_ops import events
from billing_ops.access import WRITE, require_capability
from billing_ops.actors import actor_user
from billing_ops.bulk import save_many
from billing_ops.errors import TransitionNotAllowed, ValidationFailed
from billing_ops.money import (
    CURRENCY_EXPONENTS,
    ZERO,
    has_valid_places,
    quantize,
    to_decimal,
)
from billing_ops.state import check_transition
from invoicing import amounts as engine
from invoicing.models import (
    INVOICE_TRANSITIONS,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)

SETTLEMENT_FIELDS = ["status", "amount_paid", "amount_credited", "amount_refunded", "amount_due", "paid_at"]


def compute_amount_due(invoice: Invoice) -> Decimal:
    return invoice.total - invoice.amount_paid - invoice.amount_credited + invoice.amount_refunded


def _clear_if_settled(invoice: Invoice) -> dict | None:
    """Move an invoice with nothing left due to ``paid``; returns the ``invoice.paid`` payload to emit, or None."""
    if invoice.amount_due == 0 and invoice.status != InvoiceStatus.PAID:
        check_transition(table=INVOICE_TRANSITIONS, current=invoice.status, target=InvoiceStatus.PAID, label="invoice")
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
        return {"invoice_id": invoice.pk, "tenant_id": invoice.tenant_id, "subscription_id": invoice.subscription_id}
    return None


def _settle_if_cleared(*, actor, invoice: Invoice, route: str) -> None:
    payload = _clear_if_settled(invoice)
    if payload is not None:
        events.emit("invoice.paid", actor=actor, **payload, route=route)


def invoice_record_payment(*, actor, invoice: Invoice, amount, payment_id=None, route: str = "manual",
                           locked: bool = False) -> Invoice:
    """Apply a settled payment of ``amount`` (≤ amount due) to an open invoice.

    The one place every payment route (webhook, auto-charge, retry, manual) changes an invoice:
    locks it, raises amount_paid, lowers amount_due, and moves it to `paid` (emitting
    ``invoice.paid``) when nothing is left. Overpayments are the caller's to split off first.
    ``locked=True``: ``invoice`` was read with ``select_for_update`` in the caller's open
    transaction (payment_apply), so it is current and is not read again.
    """
    return invoice_record_payments(actor=actor, applications=[(invoice, amount, payment_id)], route=route, locked=locked)[0]


def invoice_record_payments(*, actor, applications: Sequence[tuple[Invoice, object, int | None]], route: str = "manual",
                            locked: bool = False) -> list[Invoice]:
    """``invoice_record_payment`` for many (invoice, amount, payment id) applications at once (a batch of
    settlements): the same checks, rows, audit entries and events, written together. An invoice may
    appear more than once (pass the same instance). Any invalid application fails the whole call.
    """
    require_capability(actor, WRITE)
    if locked and not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoice_record_payment(locked=True) needs the caller's transaction that holds the lock")
    # Under the caller's lock its transaction is the unit (an error here undoes the whole payment): no savepoint.
    with transaction.atomic(savepoint=not locked):
        if not locked:
            current = Invoice.objects.select_for_update().order_by("pk").in_bulk([invoice.pk for invoice, _, _ in applications])
            applications = [(current[invoice.pk], amount, payment_id) for invoice, amount, payment_id in applications]
        entries, paid, applied = [], [], []
        for invoice, amount, payment_id in applications:
            if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE, InvoiceStatus.UNCOLLECTIBLE):
                raise TransitionNotAllowed(f"Invoice {invoice} is {invoice.status}; payments apply to issued or overdue invoices.")
            value = quantize(to_decimal(amount), invoice.currency)
            if value <= 0:
                raise ValidationFailed("The payment amount must be positive.", fields={"amount": ["must be positive"]})
            if value > invoice.amount_due:
                raise ValidationFailed(
                    f"{value} is more than the {invoice.amount_due} {invoice.currency} due.", code="overpayment",
                    fields={"amount": ["exceeds the amount due"]},
                )
            before = audit.snapshot(invoice, SETTLEMENT_FIELDS)
            invoice.amount_paid += value
            invoice.amount_due = compute_amount_due(invoice)
            payload = _clear_if_settled(invoice)
            if payload is not None:
                paid.append({**payload, "route": route})
            entries.append({"action": "invoice.payment_applied", "obj": invoice, "before": before,
                            "after": {**audit.snapshot(invoice, SETTLEMENT_FIELDS), "payment_id": payment_id, "amount": value,
                                      "route": route}})
            applied.append({"invoice_id": invoice.pk, "tenant_id": invoice.tenant_id, "amount": value, "currency": invoice.currency,
                            "payment_id": payment_id, "route": route})
        invoices = list({id(invoice): invoice for invoice, _, _ in applications}.values())
        save_many(invoices, fields=[*SETTLEMENT_FIELDS, "updated_at"])
        if paid:
            events.emit_many("invoice.paid", actor=actor, payloads=paid)
        audit.record_many(actor=actor, entries=entries)
        events.emit_many("invoice.payment_applied", actor=actor, payloads=applied)
    return [invoice for invoice, _, _ in applications]


def invoice_record_refund(*, actor, invoice: Invoice, amount, reference: str = "") -> Invoice:
    """Record money returned to the customer against this invoice's credit (e.g. a processed gateway refund).

    A refund is always backed by credit (a credit note): it raises amount_credited and
    amount_refunded together, so amount_due does not move.
    """
    require_capability(actor, WRITE)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        value = quantize(to_decimal(amount), invoice.currency)
        if value <= 0:
            raise ValidationFailed("The refund amount must be positive.", fields={"amount": ["must be positive"]})
        if value > invoice.amount_paid - invoice.amount_refunded:
            raise ValidationFailed("A refund cannot exceed what was paid and not yet refunded.", code="refund_exceeds_paid",
                                   fields={"amount": ["exceeds the refundable amount"]})
        before = audit.snapshot(invoice, SETTLEMENT_FIELDS)
        invoice.amount_credited += value
        invoice.amount_refunded += value
        invoice.amount_due = compute_amount_due(invoice)
        invoice.save(update_fields=[*SETTLEMENT_FIELDS, "updated_at"])
        audit.record(actor=actor, action="invoice.refund_recorded", obj=invoice, before=before,
                     after={**audit.snapshot(invoice, SETTLEMENT_FIELDS), "amount": value, "reference": reference})
        events.emit("invoice.refunded", actor=actor, invoice_id=invoice.pk, tenant_id=invoice.tenant_id, amount=value,
                    currency=invoice.currency, reference=reference)
    return invoice


def invoice_apply_credit(*, actor, invoice: Invoice, amount, credit_note_id=None) -> Invoice:
    """Apply approved credit (a credit note) of ``amount`` (≤ amount due) to an open invoice.

    The credit-note twin of ``invoice_record_payment``: raises amount_credited, lowers amount_due
    and settles the invoice (emitting ``invoice.paid`` with route ``credit_note``) when nothing is left.
    """
    require_capability(actor, WRITE)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE, InvoiceStatus.UNCOLLECTIBLE):
            raise TransitionNotAllowed(f"Invoice {invoice} is {invoice.status}; credit reduces the due of open invoices only.")
        value = quantize(to_decimal(amount), invoice.currency)
        if value <= 0 or value > invoice.amount_due:
            raise ValidationFailed(f"Credit of {value} must be positive and at most the {invoice.amount_due} due.",
                                   fields={"amount": ["out of range"]})
        before = audit.snapshot(invoice, SETTLEMENT_FIELDS)
        invoice.amount_credited += value
        invoice.amount_due = compute_amount_due(invoice)
        _settle_if_cleared(actor=actor, invoice=invoice, route="credit_note")
        invoice.save(update_fields=[*SETTLEMENT_FIELDS, "updated_at"])
        audit.record(actor=actor, action="invoice.credit_applied", obj=invoice, before=before,
                     after={**audit.snapshot(invoice, SETTLEMENT_FIELDS), "credit_note_id": credit_note_id, "amount": value})
        events.emit("invoice.credit_applied", actor=actor, invoice_id=invoice.pk, tenant_id=invoice.tenant_id,
                    amount=value, currency=invoice.currency, credit_note_id=credit_note_id)
    return invoice


def invoice_record_credit_returned(*, actor, invoice: Invoice, amount, credit_note_id=None) -> Invoice:
    """Record credit returned to the customer as account credit (the part of a credit note above the due).

    Like a refund, it raises amount_credited and amount_refunded together: amount_due does not move.
    """
    require_capability(actor, WRITE)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        value = quantize(to_decimal(amount), invoice.currency)
        before = audit.snapshot(invoice, SETTLEMENT_FIELDS)
        invoice.amount_credited += value
        invoice.amount_refunded += value
        invoice.amount_due = compute_amount_due(invoice)
        invoice.save(update_fields=[*SETTLEMENT_FIELDS, "updated_at"])
        audit.record(actor=actor, action="invoice.credit_returned", obj=invoice, before=before,
                     after={**audit.snapshot(invoice, SETTLEMENT_FIELDS), "credit_note_id": credit_note_id, "amount": value})
    return invoice


# --- numbering ---------------------------------------------------------------------------------

def next_document_number(*, prefix: str, year: int) -> str:
    """``<prefix>-<year>-<000001>``: gapless, because the counter row is locked and incremented in
    the caller's transaction (a rollback gives the number back). Must run inside a transaction."""
    return next_document_numbers(prefix=prefix, year=year, count=1)[0]


def next_document_numbers(*, prefix: str, year: int, count: int) -> list[str]:
    """``count`` consecutive gapless numbers ``<prefix>-<year>-<000001>`` taken with ONE counter update.

    The update locks the counter row until the caller's transaction ends (a rollback gives every
    number back), so take the numbers as late in the transaction as possible. Must run inside a transaction.
    """
    from django.db import connection

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_document_numbers must run inside the transaction that uses the numbers")
    if count < 1:
        return []
    table = connection.ops.quote_name(DocumentSequence._meta.db_table)
    sql = f"UPDATE {table} SET last_number = last_number + %s WHERE prefix = %s AND year = %s RETURNING last_number"
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, prefix, year])
        row = cursor.fetchone()
        if row is None:  # the year's first number: create the counter (a concurrent creator wins the unique constraint)
            DocumentSequence.objects.get_or_create(prefix=prefix, year=year)
            cursor.execute(sql, [count, prefix, year])
            row = cursor.fetchone()
    last = row[0]
    return [f"{prefix}-{year}-{number:06d}" for number in range(last - count + 1, last + 1)]


# --- invoices ----------------------------------------------------------------------------------

AMOUNT_FIELDS = ["subtotal", "discount", "credit_applied", "tax", "total", "amount_due"]


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _parse_lines(lines: Sequence) -> list[engine.LineInput]:
    """Dicts or LineInputs → engine inputs; a malformed line is a 400 naming the line."""
    parsed = []
    errors = {}
    for index, line in enumerate(lines):
        if isinstance(line, engine.LineInput):
            parsed.append(line)
            continue
        try:
            parsed.append(engine.LineInput(
                description=str(line.get("description") or "").strip(),
                quantity=to_decimal(line.get("quantity", "1")),
                unit_price=to_decimal(line["unit_price"]),
                tax_rate=to_decimal(line.get("tax_rate") or "0"),
                kind=line.get("kind") or LineKind.MANUAL,
            ))
        except (KeyError, TypeError, ValueError) as exc:
            errors[f"lines.{index}"] = [f"not a valid line ({exc})"]
            continue
        if not parsed[-1].description:
            errors[f"lines.{index}.description"] = ["required"]
        # What the line columns can hold exactly (quantity 4 places, unit price 6).
        if _places(parsed[-1].quantity) > 4:
            errors[f"lines.{index}.quantity"] = ["at most 4 decimal places"]
        if _places(parsed[-1].unit_price) > 6:
            errors[f"lines.{index}.unit_price"] = ["at most 6 decimal places"]
    if errors:
        raise ValidationFailed("Some invoice lines are not valid.", fields=errors)
    return parsed


def _parse_discount(discount) -> engine.Discount | None:
    if discount in (None, "", {}):
        return None
    if isinstance(discount, engine.Discount):
        return discount
    try:
        return engine.Discount(percent=discount.get("percent"), amount=discount.get("amount"))
    except (engine.AmountError, TypeError, ValueError, AttributeError) as exc:
        raise ValidationFailed(str(exc), fields={"discount": [str(exc)]}) from None


def invoice_preview(*, currency: str, lines: Sequence, discount=None, credit=None) -> engine.InvoiceAmounts:
    """The engine's figures for a would-be invoice (the live total of the new-invoice screen)."""
    if currency not in CURRENCY_EXPONENTS:
        raise ValidationFailed(f"Unsupported currency {currency!r}.", fields={"currency": ["unsupported"]})
    try:
        return engine.compute_invoice(currency=currency, lines=_parse_lines(lines), discount=_parse_discount(discount),
                                      credit=to_decimal(credit) if credit not in (None, "") else ZERO)
    except engine.AmountError as exc:
        raise ValidationFailed(str(exc), code="invalid_amounts") from None
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(str(exc), fields={"credit": [str(exc)]}) from None


INVOICE_LINE_FIELDS = ("position", "kind", "description", "quantity", "unit_price", "tax_rate", "amount", "discount_share",
                       "credit_share", "net", "tax", "total", "period_start", "period_end")


def invoice_line_values(*, result: engine.InvoiceAmounts, periods: Sequence | None = None) -> list[tuple]:
    """The invoice's lines as values of ``INVOICE_LINE_FIELDS``, figures from the amount engine
    (``periods``: one (start, end) per line)."""
    rows = []
    for position, line in enumerate(result.lines):
        start, end = (periods[position] if periods else (None, None))
        rows.append((position, line.kind, line.description[:255], line.quantity, line.unit_price, line.tax_rate, line.amount,
                     line.discount_share, line.credit_share, line.net, line.tax, line.total, start, end))
    return rows


def invoice_line_rows(*, invoice: Invoice, result: engine.InvoiceAmounts, periods: Sequence | None = None) -> list[InvoiceLine]:
    """The invoice's lines as unsaved rows (``invoice_line_values``)."""
    return [InvoiceLine(invoice=invoice, **dict(zip(INVOICE_LINE_FIELDS, values, strict=True)))
            for values in invoice_line_values(result=result, periods=periods)]


def _write_lines(*, invoice: Invoice, result: engine.InvoiceAmounts, periods: Sequence | None = None) -> list[InvoiceLine]:
    created = InvoiceLine.objects.bulk_create(invoice_line_rows(invoice=invoice, result=result, periods=periods))
    if any(r.pk is None for r in created):  # backends without RETURNING: read the ids back
        created = list(invoice.lines.order_by("position", "id"))
    return created


def created_event_payload(invoice: Invoice) -> dict:
    """The payload of ``invoice.created`` (single and bulk generation alike)."""
    return {"invoice_id": invoice.pk, "tenant_id": invoice.tenant_id, "subscription_id": invoice.subscription_id,
            "total": invoice.total, "currency": invoice.currency}


def issued_event_payload(invoice: Invoice) -> dict:
    """The payload of ``invoice.issued`` (single and bulk generation alike)."""
    return {"invoice_id": invoice.pk, "tenant_id": invoice.tenant_id, "subscription_id": invoice.subscription_id,
            "number": invoice.number, "total": invoice.total, "amount_due": invoice.amount_due, "currency": invoice.currency,
            "due_date": invoice.due_date}


def _set_amounts(invoice: Invoice, result: engine.InvoiceAmounts) -> None:
    invoice.subtotal, invoice.discount, invoice.credit_applied = result.subtotal, result.discount, result.credit_applied
    invoice.tax, invoice.total = result.tax, result.total
    invoice.amount_due = compute_amount_due(invoice)


def invoice_create(
    *,
    actor,
    tenant,
    lines: Sequence,
    currency: str | None = None,
    discount=None,
    discount_description: str = "",
    credit=None,
    due_date: dt.date | None = None,
    memo: str = "",
    subscription=None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    line_periods: Sequence | None = None,
) -> Invoice:
    """Create a ``draft`` invoice whose figures all come from the amount engine.

    ``credit`` is drawn from the tenant's account credit now (ledger entry in this transaction),
    so the same credit cannot be spent twice; voiding the invoice gives it back.
    """
    require_capability(actor, WRITE)
    currency = currency or tenant.currency
    if not lines:
        raise ValidationFailed("An invoice needs at least one line.", fields={"lines": ["required"]})
    credit_value = ZERO
    if credit not in (None, "", 0, ZERO):
        try:
            credit_value = to_decimal(credit)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(str(exc), fields={"credit": [str(exc)]}) from None
        if credit_value < 0 or not has_valid_places(credit_value, currency):
            raise ValidationFailed("Credit must be a positive amount in the currency's units.", fields={"credit": ["invalid"]})
        if currency != tenant.currency:
            raise ValidationFailed(f"Account credit is held in {tenant.currency}; this invoice is in {currency}.",
                                   fields={"credit": ["currency differs from the tenant's"]})
    result = invoice_preview(currency=currency, lines=lines, discount=discount, credit=credit_value)
    with transaction.atomic():
        if credit_value > 0:
            from accounts.models import Tenant

            locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
            if credit_value > locked.credit_balance:
                raise ValidationFailed(f"The tenant has only {locked.credit_balance} {locked.currency} of account credit.",
                                       code="insufficient_credit", fields={"credit": ["exceeds the credit balance"]})
        invoice = Invoice(
            tenant=tenant, subscription=subscription, currency=currency, status=InvoiceStatus.DRAFT, due_date=due_date,
            memo=memo, period_start=period_start, period_end=period_end, created_by=actor_user(actor),
            discount_description=discount_description[:255],
        )
        _set_amounts(invoice, result)
        invoice.save()
        _write_lines(invoice=invoice, result=result, periods=line_periods)
        if credit_value > 0:
            from accounts.services import tenant_credit_adjust

            tenant_credit_adjust(actor=actor, tenant=tenant, amount=-credit_value, reason=f"Applied to invoice draft #{invoice.pk}",
                                 source_type="invoicing.invoice", source_id=str(invoice.pk))
        audit.record(actor=actor, action="invoice.created", obj=invoice, after=audit.snapshot(invoice, ["status", "currency", *AMOUNT_FIELDS]))
        events.emit("invoice.created", actor=actor, **created_event_payload(invoice))
    return invoice


def _buyer_details(tenant) -> dict:
    return {
        "name": tenant.legal_name or tenant.name, "trading_name": tenant.name, "email": tenant.billing_email,
        "address": tenant.address, "country": tenant.country, "tax_id": tenant.tax_id,
        "tax_id_type": tenant.get_tax_id_type_display() if tenant.tax_id_type else "",
    }


def invoice_issue(*, actor, invoice: Invoice) -> Invoice:
    """``draft`` → ``issued``: the next gapless ``INV-<year>-<000001>``, issue date today, due date
    from the tenant's payment terms (unless the draft named a later one), seller and buyer frozen.

    A zero total is settled at once (``paid``, ``invoice.paid`` route ``credit``). Emits ``invoice.issued``.
    """
    require_capability(actor, WRITE)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=invoice.pk)
        check_transition(table=INVOICE_TRANSITIONS, current=invoice.status, target=InvoiceStatus.ISSUED, label="invoice")
        before = audit.snapshot(invoice, ["status", "number", "issue_date", "due_date"])
        today = timezone.localdate()
        tenant = invoice.tenant
        terms = tenant.payment_terms_days if tenant.payment_terms_days is not None else settings.DEFAULT_PAYMENT_TERMS_DAYS
        invoice.number = next_document_number(prefix="INV", year=today.year)
        invoice.status = InvoiceStatus.ISSUED
        invoice.issue_date = today
        if invoice.due_date is None or invoice.due_date < today:
            invoice.due_date = today + dt.timedelta(days=terms)
        invoice.issued_at = timezone.now()
        invoice.seller_details = dict(settings.SELLER)
        invoice.buyer_details = _buyer_details(tenant)
        invoice.amount_due = compute_amount_due(invoice)
        # Saved before the event: subscribers read the issued invoice (its number and due date), not the draft.
        invoice.save()
        events.emit("invoice.issued", actor=actor, **issued_event_payload(invoice))
        if invoice.amount_due == 0:
            _settle_if_cleared(actor=actor, invoice=invoice, route="credit")
            invoice.save(update_fields=["status", "paid_at", "updated_at"])
        audit.record(actor=actor, action="invoice.issued", obj=invoice, before=before,
                     after=audit.snapshot(invoice, ["status", "number", "issue_date", "due_date"]))
    return invoice


def invoice_send(*, actor, invoice: Invoice) -> Invoice:
    """Send the invoice to the tenant's billing contact: a draft is issued first; an issued, overdue
    or paid invoice is sent again. The email (with the PDF) leaves after the commit."""
    require_capability(actor, WRITE)
    with transaction.atomic():
        current = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if current.status == InvoiceStatus.DRAFT:
            current = invoice_issue(actor=actor, invoice=current)
        elif current.status not in (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE, InvoiceStatus.PAID):
            raise TransitionNotAllowed(f"A {current.status} invoice cannot be sent.")
        audit.record(actor=actor, action="invoice.sent", obj=current, after={"to": current.tenant.billing_email})
        from billing_ops.queue import enqueue_on_commit
        from invoicing.tasks import send_invoice_email

        enqueue_on_commit(send_invoice_email, current.pk)
    return current


def _release_drawn_credit(*, actor, invoice: Invoice) -> None:
    if invoice.credit_applied > 0:
        from accounts.services import tenant_credit_adjust

        tenant_credit_adjust(actor=actor, tenant=invoice.tenant, amount=invoice.credit_applied,
                             reason=f"Credit returned: invoice {invoice} voided", source_type="invoicing.invoice", source_id=str(invoice.pk))


def invoice_void(*, actor, invoice: Invoice, reason: str) -> Invoice:
    """``draft``/``issued``/``overdue`` → ``void`` with a reason. Refused once money or credit
    notes touched it (credit or refund those instead). Account credit it drew goes back to the tenant."""
    require_capability(actor, WRITE)
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required to void an invoice.", fields={"reason": ["required"]})
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=invoice.pk)
        check_transition(table=INVOICE_TRANSITIONS, current=invoice.status, target=InvoiceStatus.VOID, label="invoice")
        if invoice.amount_paid > 0 or invoice.amount_credited > 0:
            raise TransitionNotAllowed("Payments or credit notes were applied to this invoice; issue a credit note instead of voiding it.",
                                       code="invoice_has_settlements")
        if invoice.credit_notes.exclude(status="void").exists():
            raise TransitionNotAllowed("Void this invoice's open credit notes first.", code="invoice_has_credit_notes")
        before = audit.snapshot(invoice, ["status", "amount_due"])
        invoice.status = InvoiceStatus.VOID
        invoice.status_reason = reason.strip()[:255]
        invoice.voided_at = timezone.now()
        invoice.amount_due = ZERO
        invoice.save(update_fields=["status", "status_reason", "voided_at", "amount_due", "updated_at"])
        _release_drawn_credit(actor=actor, invoice=invoice)
        audit.record(actor=actor, action="invoice.voided", obj=invoice, before=before,
                     after=audit.snapshot(invoice, ["status", "amount_due"]), reason=reason)
        events.emit("invoice.voided", actor=actor, invoice_id=invoice.pk, tenant_id=invoice.tenant_id,
                    subscription_id=invoice.subscription_id, reason=reason)
    return invoice


def invoice_mark_uncollectible(*, actor, invoice: Invoice, reason: str) -> Invoice:
    """``issued``/``overdue`` → ``uncollectible`` (written off; a later payment still settles it)."""
    require_capability(actor, WRITE)
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required.", fields={"reason": ["required"]})
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        check_transition(table=INVOICE_TRANSITIONS, current=invoice.status, target=InvoiceStatus.UNCOLLECTIBLE, label="invoice")
        before = audit.snapshot(invoice, ["status"])
        invoice.status = InvoiceStatus.UNCOLLECTIBLE
        invoice.status_reason = reason.strip()[:255]
        invoice.save(update_fields=["status", "status_reason", "updated_at"])
        audit.record(actor=actor, action="invoice.uncollectible", obj=invoice, before=before, after={"status": invoice.status}, reason=reason)
        events.emit("invoice.uncollectible", actor=actor, invoice_id=invoice.pk, tenant_id=invoice.tenant_id,
                    subscription_id=invoice.subscription_id, amount_due=invoice.amount_due, currency=invoice.currency, reason=reason)
    return invoice


def invoice_mark_overdue(*, actor, invoice: Invoice, today: dt.date | None = None) -> Invoice:
    """``issued`` → ``overdue`` once the due date has passed; emits ``invoice.overdue`` (dunning listens).

    Already overdue is success (safe to run twice); anything else is refused.
    """
    require_capability(actor, WRITE)
    today = today or timezone.localdate()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status == InvoiceStatus.OVERDUE:
            return invoice
        check_transition(table=INVOICE_TRANSITIONS, current=invoice.status, target=InvoiceStatus.OVERDUE, label="invoice")
        if invoice.due_date is None or invoice.due_date >= today:
            raise TransitionNotAllowed(f"Invoice {invoice} is not past its due date ({invoice.due_date}).", code="not_due")
        invoice.status = InvoiceStatus.OVERDUE
        invoice.save(update_fields=["status", "updated_at"])
        audit.record(actor=actor, action="invoice.overdue", obj=invoice, before={"status": InvoiceStatus.ISSUED}, after={"status": invoice.status})
        events.emit("invoice.overdue", actor=actor, invoice_id=invoice.pk, tenant_id=invoice.tenant_id,
                    subscription_id=invoice.subscription_id, amount_due=invoice.amount_due, currency=invoice.currency,
                    due_date=invoice.due_date)
    return invoice


# --- credit notes ------------------------------------------------------------------------------

CREDITABLE_INVOICE_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE, InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE)


def creditable_lines(*, invoice: Invoice) -> tuple[list[InvoiceLine], list[engine.CreditableLine]]:
    """The invoice's lines and, for the engine, what is left of each after non-void credit notes
    (drafts count, so two drafts cannot together credit more than the invoice charged)."""
    from django.db.models import Sum

    from invoicing.models import CreditNoteLine

    lines = list(invoice.lines.order_by("position", "id"))
    taken = {
        row["invoice_line"]: row
        for row in CreditNoteLine.objects.filter(invoice_line__invoice=invoice).exclude(credit_note__status="void")
        .values("invoice_line").annotate(net=Sum("net"), tax=Sum("tax"))
    }
    creditable = []
    for line in lines:
        done = taken.get(line.pk, {})
        # Proration credit lines (negative) carry nothing to credit.
        net, tax = max(line.net, ZERO), max(line.tax, ZERO)
        creditable.append(engine.CreditableLine(
            description=line.description, tax_rate=line.tax_rate, net=net, tax=tax, kind=line.kind,
            credited_net=min(done.get("net") or ZERO, net), credited_tax=min(done.get("tax") or ZERO, tax),
        ))
    return lines, creditable


def credit_note_create(*, actor, invoice: Invoice, reason: str, amount=None, line_ids: Sequence | None = None,
                       resolution: str = "reduce_due"):
    """A ``draft`` credit note against an issued/overdue/paid/uncollectible invoice: either a gross
    ``amount`` spread over the lines, or chosen ``line_ids`` credited in full. Tax is reversed per
    line by the amount engine; never more than is still creditable."""
    from invoicing.models import CreditNote, CreditNoteLine, CreditResolution

    require_capability(actor, WRITE)
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required.", fields={"reason": ["required"]})
    if resolution not in CreditResolution.values:
        raise ValidationFailed(f"Resolution must be one of {', '.join(CreditResolution.values)}.", fields={"resolution": ["invalid"]})
    if (amount in (None, "")) == (not line_ids):
        raise ValidationFailed("Give either an amount or the lines to credit.", fields={"amount": ["amount or lines required"]})
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status not in CREDITABLE_INVOICE_STATUSES:
            raise TransitionNotAllowed(f"A {invoice.status} invoice cannot be credited.", code="invoice_not_creditable")
        if resolution == CreditResolution.REFUND and invoice.amount_paid - invoice.amount_refunded <= 0:
            raise ValidationFailed("Nothing was paid on this invoice, so nothing can be refunded.", fields={"resolution": ["nothing paid"]})
        lines, creditable = creditable_lines(invoice=invoice)
        try:
            if line_ids:
                index_of = {line.pk: i for i, line in enumerate(lines)}
                unknown = [i for i in line_ids if int(i) not in index_of]
                if unknown:
                    raise ValidationFailed(f"Lines {unknown} are not on invoice {invoice}.", fields={"lines": ["unknown line"]})
                result = engine.compute_credit_note(currency=invoice.currency, lines=creditable,
                                                    line_indexes=[index_of[int(i)] for i in line_ids])
            else:
                result = engine.compute_credit_note(currency=invoice.currency, lines=creditable, amount=to_decimal(amount))
        except engine.AmountError as exc:
            raise ValidationFailed(str(exc), code="not_creditable", fields={"amount": [str(exc)]}) from None
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(str(exc), fields={"amount": [str(exc)]}) from None
        note = CreditNote.objects.create(
            invoice=invoice, tenant_id=invoice.tenant_id, currency=invoice.currency, reason=reason.strip()[:255],
            resolution=resolution, net=result.net, tax=result.tax, total=result.total, created_by=actor_user(actor),
        )
        CreditNoteLine.objects.bulk_create([
            CreditNoteLine(credit_note=note, invoice_line=lines[r.index], description=r.description, tax_rate=r.tax_rate,
                           net=r.net, tax=r.tax, total=r.total)
            for r in result.lines
        ])
        audit.record(actor=actor, action="credit_note.created", obj=note,
                     after={"invoice": invoice.pk, "total": note.total, "resolution": resolution}, reason=reason)
        events.emit("credit_note.created", actor=actor, credit_note_id=note.pk, invoice_id=invoice.pk,
                    tenant_id=invoice.tenant_id, total=note.total, currency=note.currency)
    return note


def credit_note_approve(*, actor, credit_note):
    """``draft`` → ``approved`` (billing.approve; four-eyes when CREDIT_NOTE_REQUIRE_DIFFERENT_APPROVER),
    numbered ``CN-<year>-<000001>``, and the credit applied in the same transaction:

    1. up to the invoice's amount due reduces it (through ``invoice_apply_credit``, which settles the
       invoice and emits ``invoice.paid`` when the due is cleared);
    2. the rest becomes tenant account credit — or, for resolution ``refund``, a pending refund
       (``credit_note.refund_requested``) that the payments app executes and records with
       ``invoice_record_refund`` (which raises amount_credited and amount_refunded together).

    The note answers ``approved`` (CONTRACT §10) with its effects already booked; ``applied_at`` says when
    the credit was fully applied (at once, or when a pending refund is processed).
    """
    from billing_ops.access import APPROVE
    from billing_ops.errors import PermissionDenied
    from invoicing.models import (
        CREDIT_NOTE_TRANSITIONS,
        CreditNote,
        CreditNoteStatus,
        CreditResolution,
    )

    require_capability(actor, APPROVE)
    with transaction.atomic():
        note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
        check_transition(table=CREDIT_NOTE_TRANSITIONS, current=note.status, target=CreditNoteStatus.APPROVED, label="credit note")
        approver = actor_user(actor)
        if settings.CREDIT_NOTE_REQUIRE_DIFFERENT_APPROVER and approver is not None and approver.pk == note.created_by_id:
            raise PermissionDenied("A credit note must be approved by someone other than its creator.", code="same_approver")
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=note.invoice_id)
        if invoice.status not in CREDITABLE_INVOICE_STATUSES:
            raise TransitionNotAllowed(f"Invoice {invoice} is {invoice.status}; it can no longer be credited.", code="invoice_not_creditable")
        to_due = min(note.total, invoice.amount_due)
        rest = note.total - to_due
        to_refund = rest if note.resolution == CreditResolution.REFUND else ZERO
        to_credit = rest - to_refund
        if to_refund > 0:
            pending = sum((n.refund_amount for n in invoice.credit_notes.filter(refund_status__in=("pending", "processing"))), ZERO)
            refundable = invoice.amount_paid - invoice.amount_refunded - pending
            if to_refund > refundable:
                raise ValidationFailed(f"Only {max(refundable, ZERO)} {invoice.currency} of payments can still be refunded.",
                                       code="refund_exceeds_paid", fields={"resolution": ["refund exceeds what was paid"]})
        before = audit.snapshot(note, ["status", "number"])
        now = timezone.now()
        note.number = next_document_number(prefix="CN", year=timezone.localdate().year)
        note.status = CreditNoteStatus.APPROVED
        note.approved_by, note.approved_at = approver, now
        note.applied_to_due, note.applied_to_credit, note.refund_amount = to_due, to_credit, to_refund
        if to_due > 0:
            invoice_apply_credit(actor=actor, invoice=invoice, amount=to_due, credit_note_id=note.pk)
        if to_credit > 0:
            from accounts.services import tenant_credit_adjust

            if invoice.currency != invoice.tenant.currency:
                raise ValidationFailed("The tenant's account credit is in another currency; choose refund instead.",
                                       fields={"resolution": ["currency differs"]})
            invoice_record_credit_returned(actor=actor, invoice=invoice, amount=to_credit, credit_note_id=note.pk)
            tenant_credit_adjust(actor=actor, tenant=invoice.tenant, amount=to_credit, reason=f"Credit note {note.number}",
                                 source_type="invoicing.creditnote", source_id=str(note.pk))
        if to_refund > 0:
            note.refund_status = "pending"
        else:
            note.applied_at = now
        note.save()
        audit.record(actor=actor, action="credit_note.approved", obj=note, before=before,
                     after={**audit.snapshot(note, ["status", "number", "applied_to_due", "applied_to_credit", "refund_amount", "refund_status"])})
        events.emit("credit_note.approved", actor=actor, credit_note_id=note.pk, invoice_id=invoice.pk, tenant_id=invoice.tenant_id,
                    number=note.number, total=note.total, currency=note.currency, applied_to_due=to_due,
                    applied_to_credit=to_credit, refund_amount=to_refund, resolution=note.resolution)
        if to_refund > 0:
            events.emit("credit_note.refund_requested", actor=actor, credit_note_id=note.pk, invoice_id=invoice.pk,
                        tenant_id=invoice.tenant_id, amount=to_refund, currency=note.currency)
    return note


def credit_note_refund_processed(*, actor, credit_note, reference: str = ""):
    """Settle a credit note's refund outside the gateway (e.g. paid back by bank transfer): records the
    refund on the invoice (``invoice_record_refund``) and sets ``applied_at``. Safe to call twice.
    Gateway refunds are recorded by the payments app and followed by ``credit_note_refund_outcome``."""
    from invoicing.models import CreditNote, CreditNoteStatus

    require_capability(actor, WRITE)
    with transaction.atomic():
        note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
        if note.refund_status == "processed":
            return note
        if note.status != CreditNoteStatus.APPROVED or note.refund_status not in ("pending", "processing", "failed"):
            raise TransitionNotAllowed(f"Credit note {note} has no refund waiting.", code="no_pending_refund")
        invoice_record_refund(actor=actor, invoice=note.invoice, amount=note.refund_amount, reference=reference or str(note))
        note.refund_status, note.applied_at = "processed", timezone.now()
        note.save(update_fields=["refund_status", "applied_at", "updated_at"])
        audit.record(actor=actor, action="credit_note.refunded", obj=note, after={"refund_status": "processed", "reference": reference})
    return note


def _refunded_through_gateway(note) -> Decimal | None:
    """What the payments app has refunded for this note so far (None when it is not installed)."""
    from django.apps import apps

    try:
        refund_model = apps.get_model("payments", "Refund")
    except LookupError:
        return None
    from django.db.models import Sum

    return refund_model.objects.filter(credit_note_id=note.pk, status="processed").aggregate(total=Sum("amount"))["total"] or ZERO


def credit_note_refund_outcome(*, actor, credit_note_id: int, succeeded: bool, reason: str = ""):
    """Follow a gateway refund of a credit note (called from the ``payment.refunded`` /
    ``payment.refund_failed`` subscriber). Does not touch the invoice: payments records the money.
    ``processed`` (and ``applied_at``) once everything the note refunds has been processed."""
    from invoicing.models import CreditNote

    require_capability(actor, WRITE)
    with transaction.atomic():
        note = CreditNote.objects.select_for_update().filter(pk=credit_note_id).first()
        if note is None or note.refund_status in ("", "processed") or note.refund_amount <= 0:
            return note
        before = {"refund_status": note.refund_status}
        if succeeded:
            done = _refunded_through_gateway(note)
            if done is None or done >= note.refund_amount:
                note.refund_status, note.applied_at = "processed", timezone.now()
            else:
                note.refund_status = "processing"
        else:
            note.refund_status = "failed"
        note.save(update_fields=["refund_status", "applied_at", "updated_at"])
        audit.record(actor=actor, action=f"credit_note.refund_{note.refund_status}", obj=note, before=before,
                     after={"refund_status": note.refund_status}, reason=reason)
    return note


def credit_note_refund_failed(*, actor, credit_note, reason: str = ""):
    """The payments app's call when the gateway refused the refund: the note stays approved with
    refund_status ``failed`` so staff can retry or settle it another way."""
    from invoicing.models import CreditNote

    require_capability(actor, WRITE)
    with transaction.atomic():
        note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
        if note.refund_status not in ("pending", "processing"):
            raise TransitionNotAllowed(f"Credit note {note} has no refund in progress.", code="no_pending_refund")
        note.refund_status = "failed"
        note.save(update_fields=["refund_status", "updated_at"])
        audit.record(actor=actor, action="credit_note.refund_failed", obj=note, after={"refund_status": "failed"}, reason=reason)
    return note


def credit_note_void(*, actor, credit_note, reason: str):
    """``draft`` → ``void`` (an approved note is a document: correct it with another one)."""
    from invoicing.models import CREDIT_NOTE_TRANSITIONS, CreditNote, CreditNoteStatus

    require_capability(actor, WRITE)
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required.", fields={"reason": ["required"]})
    with transaction.atomic():
        note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
        check_transition(table=CREDIT_NOTE_TRANSITIONS, current=note.status, target=CreditNoteStatus.VOID, label="credit note")
        note.status, note.voided_at = CreditNoteStatus.VOID, timezone.now()
        note.save(update_fields=["status", "voided_at", "updated_at"])
        audit.record(actor=actor, action="credit_note.voided", obj=note, before={"status": "draft"}, after={"status": "void"}, reason=reason)
        events.emit("credit_note.voided", actor=actor, credit_note_id=note.pk, invoice_id=note.invoice_id, tenant_id=note.tenant_id)
    return note


def invoice_add_proration_lines(*, actor, subscription, issue: bool = True):
    """Agreed cross-app name (see ``invoicing.generation.invoice_add_proration_lines``)."""
    from invoicing.generation import invoice_add_proration_lines as add

    return add(actor=actor, subscription=subscription, issue=issue)
