"""Applying payments (the one path every route uses), failed attempts, manual payments, saved cards."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import audit
from accounts.models import Tenant
from billing_ops import events
from billing_ops.access import WRITE, require_capability
from billing_ops.actors import actor_user
from billing_ops.bulk import save_many
from billing_ops.errors import ValidationFailed
from billing_ops.money import has_valid_places, quantize, to_decimal
from billing_ops.state import check_transition
from invoicing.models import Invoice, InvoiceStatus
from payments.models import (
    MANUAL_METHODS,
    PAYMENT_TRANSITIONS,
    SETTLED_STATUSES,
    Payment,
    PaymentMethod,
    PaymentMethodKind,
    PaymentStatus,
)

PAYABLE_INVOICE_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE, InvoiceStatus.UNCOLLECTIBLE)
OVERPAYMENT_CREDIT = "credit"
AUDIT_FIELDS = ["status", "amount", "applied_amount", "credited_amount", "refunded_amount", "failure_reason"]


def decline_code(message: str) -> str:
    """A stable code for a decline's gateway_response ("Insufficient Funds" -> insufficient_funds)."""
    text = (message or "").lower()
    if "insufficient" in text:
        return "insufficient_funds"
    if "honor" in text or "honour" in text:
        return "do_not_honour"
    if "expired" in text:
        return "expired_card"
    return "declined"


def _card_fields(payment: Payment, authorization: dict | None) -> None:
    if not authorization:
        return
    payment.card_brand = str(authorization.get("brand") or "")[:32]
    payment.card_last4 = str(authorization.get("last4") or "")[:4]
    payment.card_bank = str(authorization.get("bank") or "")[:100]
    for source, target in (("exp_month", "card_exp_month"), ("exp_year", "card_exp_year")):
        value = authorization.get(source)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        setattr(payment, target, value if isinstance(value, int) else None)
    if "reusable" in authorization:
        payment.card_reusable = bool(authorization.get("reusable"))


def record_gateway_data(payment: Payment, data: dict | None) -> None:
    """Copy what Paystack said about the charge (a charge/verify ``data`` object) onto ``payment``."""
    if not data:
        return
    tx_id = data.get("id")
    if isinstance(tx_id, int) and not isinstance(tx_id, bool):
        payment.gateway_transaction_id = tx_id
    payment.gateway_response = str(data.get("gateway_response") or payment.gateway_response or "")[:255]
    _card_fields(payment, data.get("authorization") if isinstance(data.get("authorization"), dict) else None)
    payment.raw_response = data
    paid_at = data.get("paid_at") or data.get("paidAt")
    if isinstance(paid_at, str) and parse_datetime(paid_at):
        payment.paid_at = parse_datetime(paid_at)


# What settling a payment writes (payment_apply): its outcome and what the gateway said about the charge.
SETTLEMENT_FIELDS = ["status", "applied_amount", "credited_amount", "paid_at", "claimed_until", "failure_reason", "failure_code",
                     "note", "gateway_transaction_id", "gateway_response", "raw_response", "card_brand", "card_last4",
                     "card_bank", "card_exp_month", "card_exp_year", "card_reusable", "updated_at"]


def payment_apply(*, actor, payment: Payment, route: str, overpayment: str | None = None,
                  gateway_data: dict | None = None) -> Payment:
    """Settle ``payment`` and apply it to its invoice — the ONE service for webhook, auto-charge, retry and manual.

    Idempotent: a payment already settled is returned unchanged (a webhook and the charge response
    may both report the same success). Locks the payment, then (through
    ``invoicing.services.invoice_record_payment``) the invoice; applies at most the amount due and,
    when the payment is larger, moves the excess to the tenant's account credit — always for money a
    gateway already took, for manual payments only when ``overpayment="credit"``. Emits
    ``payment.succeeded`` (and ``invoice.paid`` via invoicing when the invoice clears).
    """
    return payment_apply_many(actor=actor, items=[(payment, gateway_data)], route=route, overpayment=overpayment)[0]


def payment_apply_many(*, actor, items: list[tuple[Payment, dict | None]], route: str,
                       overpayment: str | None = None) -> list[Payment]:
    """``payment_apply`` for many (payment, gateway data) pairs in ONE transaction — the auto-charge run
    settles its successful charges a batch at a time. The same checks, rows, audit entries and events as
    one by one, written together (events through ``events.emit_many``, whose subscribers offer batch
    forms). Any failure undoes the whole batch (the caller then settles one by one). Returns the payments
    in the order given.
    """
    from accounts.services import tenant_credit_adjust
    from invoicing.services import invoice_record_payments

    require_capability(actor, WRITE)
    with transaction.atomic():
        # Lock order everywhere in payments: invoice, then payment, then tenant (no deadlocks); ids in order.
        # A payment's invoice never changes; read it only when the caller's instance lacks it.
        missing = [p.pk for p, _ in items if not p.invoice_id]
        invoice_of = dict(Payment.objects.filter(pk__in=missing).values_list("pk", "invoice_id")) if missing else {}
        invoice_ids = {p.invoice_id or invoice_of[p.pk] for p, _ in items}
        invoices = Invoice.objects.select_for_update().order_by("pk").in_bulk(invoice_ids)
        payments = Payment.objects.select_for_update().order_by("pk").in_bulk([p.pk for p, _ in items])
        settled, applications, credits, entries, seen = [], [], [], [], set()
        due_left = {pk: (invoice.amount_due if invoice.status in PAYABLE_INVOICE_STATUSES else Decimal("0"))
                    for pk, invoice in invoices.items()}
        for given, gateway_data in items:
            payment = payments[given.pk]
            if payment.status in SETTLED_STATUSES or payment.pk in seen:
                continue
            seen.add(payment.pk)
            check_transition(table=PAYMENT_TRANSITIONS, current=payment.status, target=PaymentStatus.SUCCEEDED, label="payment")
            invoice = invoices[payment.invoice_id]
            before = audit.snapshot(payment, AUDIT_FIELDS)
            record_gateway_data(payment, gateway_data)
            due = due_left[invoice.pk]
            to_apply = min(payment.amount, due)
            excess = payment.amount - to_apply
            if excess > 0 and payment.method != PaymentMethodKind.CARD and overpayment != OVERPAYMENT_CREDIT:
                raise ValidationFailed(
                    f"{payment.amount} is more than the {due} {invoice.currency} due; choose overpayment to credit.",
                    code="overpayment", fields={"amount": ["exceeds the amount due"]},
                )
            due_left[invoice.pk] = due - to_apply
            if to_apply > 0:
                applications.append((invoice, to_apply, payment.pk))
            if excess > 0:
                credits.append((payment, invoice, excess))
            payment.status = PaymentStatus.SUCCEEDED
            payment.applied_amount = to_apply
            payment.credited_amount = Decimal("0.00")
            payment.paid_at = payment.paid_at or timezone.now()
            payment.claimed_until = None
            payment.failure_reason = payment.failure_code = ""
            settled.append(payment)
            entries.append((payment, before, invoice, gateway_data))
        if applications:
            invoice_record_payments(actor=actor, applications=applications, route=route, locked=True)
        for payment, invoice, excess in credits:
            tenant = Tenant.objects.get(pk=payment.tenant_id)
            if tenant.currency == payment.currency:
                tenant_credit_adjust(actor=actor, tenant=tenant, amount=excess,
                                     reason=f"Overpayment of {payment.reference} on {invoice}",
                                     source_type="payments.payment", source_id=str(payment.pk))
                payment.credited_amount = excess
            else:
                payment.note = (payment.note + "\n" if payment.note else "") + (
                    f"{excess} {payment.currency} exceeded the amount due and could not be credited "
                    f"(the tenant's credit is in {tenant.currency}); refund it or credit it by hand.")
        save_many(settled, fields=SETTLEMENT_FIELDS)
        _save_cards_used(settled_with_data=[(payment, data) for payment, _, _, data in entries])
        audit.record_many(actor=actor, entries=[
            {"action": "payment.succeeded", "obj": payment, "before": before,
             "after": {**audit.snapshot(payment, AUDIT_FIELDS), "route": route, "invoice": invoice.pk}}
            for payment, before, invoice, _ in entries])
        events.emit_many("payment.succeeded", actor=actor, payloads=[
            {"payment_id": payment.pk, "invoice_id": invoice.pk, "tenant_id": payment.tenant_id, "amount": payment.amount,
             "currency": payment.currency, "reason": route, "route": route, "applied": payment.applied_amount,
             "credited": payment.credited_amount}
            for payment, _, invoice, _ in entries])
    return [payments[given.pk] for given, _ in items]


def _save_cards_used(*, settled_with_data: list[tuple[Payment, dict | None]]) -> None:
    """Save or refresh the cards successful card charges report (``payment_method_save_from_authorization``),
    reading the cards already saved for the whole batch at once: most charges use a saved card unchanged."""
    reported = []
    for payment, data in settled_with_data:
        if payment.method == PaymentMethodKind.CARD and data and isinstance(data.get("authorization"), dict):
            customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
            card = _card_details(data["authorization"])
            if card is not None:
                reported.append((payment.tenant_id, card, customer.get("email") or ""))
    if not reported:
        return
    saved = {(m.tenant_id, m.authorization_fingerprint): m for m in PaymentMethod.objects.defer("authorization_code").filter(
        tenant_id__in={tenant_id for tenant_id, _, _ in reported},
        authorization_fingerprint__in={card.fingerprint for _, card, _ in reported})}
    for tenant_id, card, email in reported:
        if not card.unchanged(saved.get((tenant_id, card.fingerprint)), email):
            payment_method_save_from_authorization(tenant=tenant_id, authorization=card.authorization, email=email)


def payment_mark_failed(*, actor, payment: Payment, code: str, message: str, gateway_data: dict | None = None,
                        emit: bool = True) -> Payment:
    """A pending attempt did not take money. Emits ``payment.failed`` (reason = ``code``) unless told not to.

    Idempotent: a payment that is no longer pending is returned unchanged (never downgrades a success).
    """
    require_capability(actor, WRITE)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.PENDING:
            return payment
        check_transition(table=PAYMENT_TRANSITIONS, current=payment.status, target=PaymentStatus.FAILED, label="payment")
        before = audit.snapshot(payment, AUDIT_FIELDS)
        record_gateway_data(payment, gateway_data)
        payment.status = PaymentStatus.FAILED
        payment.failure_code = code[:32]
        payment.failure_reason = (message or code)[:255]
        payment.failed_at = timezone.now()
        payment.claimed_until = None
        payment.save()
        audit.record(actor=actor, action="payment.failed", obj=payment, before=before,
                     after={**audit.snapshot(payment, AUDIT_FIELDS), "code": code})
        if emit:
            events.emit("payment.failed", actor=actor, payment_id=payment.pk, invoice_id=payment.invoice_id,
                        tenant_id=payment.tenant_id, amount=payment.amount, currency=payment.currency,
                        reason=code, message=payment.failure_reason, attempt=payment.attempt)
    return payment


def payment_record_manual(*, actor, invoice: Invoice, amount, method: str, reference: str = "",
                          received_at: date | None = None, overpayment: str | None = None, note: str = "") -> Payment:
    """Record money received outside Paystack (bank transfer, cash, cheque, other) and apply it.

    Amount must be positive, in the invoice's minor units, and not above the amount due unless
    ``overpayment="credit"`` (the excess becomes account credit). Audited; emits ``payment.succeeded``.
    """
    require_capability(actor, WRITE)
    errors = {}
    if method not in MANUAL_METHODS:
        errors["method"] = [f"must be one of {', '.join(MANUAL_METHODS)}"]
    if overpayment not in (None, "", OVERPAYMENT_CREDIT):
        errors["overpayment"] = ['must be "credit" or omitted']
    try:
        value = to_decimal(amount)
    except (TypeError, ValueError):
        errors["amount"] = ["must be a decimal amount such as \"12.34\""]
        value = None
    if value is not None and value <= 0:
        errors["amount"] = ["must be more than zero"]
    elif value is not None and not has_valid_places(value, invoice.currency):
        errors["amount"] = [f"{invoice.currency} amounts have at most 2 decimal places"]
    if received_at and received_at > timezone.localdate():
        errors["received_at"] = ["cannot be in the future"]
    if errors:
        raise ValidationFailed("The payment is not valid.", fields=errors)
    value = quantize(value, invoice.currency)
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status not in PAYABLE_INVOICE_STATUSES:
            from billing_ops.errors import TransitionNotAllowed

            raise TransitionNotAllowed(f"Invoice {locked} is {locked.status}; payments apply to issued or overdue invoices.")
        if value > locked.amount_due and overpayment != OVERPAYMENT_CREDIT:
            raise ValidationFailed(
                f"{value} is more than the {locked.amount_due} {locked.currency} due. "
                "Send overpayment \"credit\" to put the excess on the tenant's account credit.",
                code="overpayment", fields={"amount": ["exceeds the amount due"]},
            )
        payment = Payment.objects.create(
            tenant_id=locked.tenant_id, invoice=locked, amount=value, currency=locked.currency, method=method,
            status=PaymentStatus.PENDING, reference=f"MAN-{uuid.uuid4().hex[:16].upper()}",
            external_reference=(reference or "")[:100], received_at=received_at or timezone.localdate(),
            note=note or "", reason="manual", created_by=actor_user(actor),
        )
        audit.record(actor=actor, action="payment.recorded", obj=payment,
                     after={"amount": value, "method": method, "reference": reference, "invoice": locked.pk})
        payment = payment_apply(actor=actor, payment=payment, route="manual", overpayment=overpayment or None)
    return payment


# --- saved cards -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ReportedCard:
    """A reusable card authorization as Paystack reports it, in the fields a saved card keeps."""

    authorization: dict
    code: str
    fingerprint: str
    details: dict

    def unchanged(self, current: PaymentMethod | None, email: str) -> bool:
        return current is not None and all(getattr(current, name) == value for name, value in self.details.items()) \
            and (not email or email == current.email)


def _card_details(authorization: dict) -> _ReportedCard | None:
    code = str(authorization.get("authorization_code") or "")
    if not code or authorization.get("reusable") is False:
        return None

    def as_int(value):
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    details = {
        "brand": str(authorization.get("brand") or "")[:32], "last4": str(authorization.get("last4") or "")[:4],
        "exp_month": as_int(authorization.get("exp_month")), "exp_year": as_int(authorization.get("exp_year")),
        "bank": str(authorization.get("bank") or "")[:100], "reusable": authorization.get("reusable") is not False,
    }
    return _ReportedCard(authorization, code, PaymentMethod.fingerprint(code), details)


def payment_method_save_from_authorization(*, tenant, authorization: dict, email: str = "") -> PaymentMethod | None:
    """Save (or refresh) the card a successful Paystack charge used; the tenant's first card becomes default.

    ``tenant``: the Tenant or its id.
    """
    card = _card_details(authorization)
    if card is None:
        return None
    code, fingerprint, details = card.code, card.fingerprint, card.details
    tenant_id = getattr(tenant, "pk", tenant)
    # Every auto-charge success reports the card it used: when nothing changed, neither lock nor rewrite
    # (re-encrypt) the saved card. The code itself is not read back (no decryption): the fingerprint matched.
    current = (PaymentMethod.objects.defer("authorization_code")
               .filter(tenant_id=tenant_id, authorization_fingerprint=fingerprint).first())
    if card.unchanged(current, email):
        return current
    with transaction.atomic():
        existing = PaymentMethod.objects.select_for_update().filter(tenant_id=tenant_id, authorization_fingerprint=fingerprint).first()
        if existing:
            for name, value in details.items():
                setattr(existing, name, value)
            existing.email = email or existing.email
            existing.save()
            return existing
        has_default = PaymentMethod.objects.filter(tenant_id=tenant_id, is_default=True).exists()
        try:
            with transaction.atomic():
                return PaymentMethod.objects.create(
                    tenant_id=tenant_id, authorization_code=code, email=email or "", is_default=not has_default, **details,
                )
        except IntegrityError:  # saved meanwhile by a concurrent webhook
            return PaymentMethod.objects.filter(tenant_id=tenant_id, authorization_fingerprint=fingerprint).first()


def payment_method_create(*, actor, tenant, authorization_code: str, email: str = "", brand: str = "", last4: str = "",
                          exp_month: int | None = None, exp_year: int | None = None, bank: str = "",
                          reusable: bool = True, make_default: bool = True) -> PaymentMethod:
    """Save a card authorization obtained elsewhere (Paystack checkout, import, demo). Audited without the code."""
    require_capability(actor, WRITE)
    with transaction.atomic():
        method = payment_method_save_from_authorization(tenant=tenant, email=email, authorization={
            "authorization_code": authorization_code, "brand": brand, "last4": last4, "exp_month": exp_month,
            "exp_year": exp_year, "bank": bank, "reusable": reusable,
        })
        if method is None:
            raise ValidationFailed("Only reusable authorizations can be saved.", fields={"reusable": ["must be true"]})
        if make_default and not method.is_default:
            method = payment_method_set_default(actor=actor, payment_method=method)
        audit.record(actor=actor, action="payment_method.saved", obj=method,
                     after={"brand": brand, "last4": last4, "default": method.is_default})
    return method


def payment_method_set_default(*, actor, payment_method: PaymentMethod) -> PaymentMethod:
    """Make this card the tenant's default (the one auto-charge uses)."""
    require_capability(actor, WRITE)
    with transaction.atomic():
        Tenant.objects.select_for_update().get(pk=payment_method.tenant_id)
        PaymentMethod.objects.filter(tenant_id=payment_method.tenant_id, is_default=True).exclude(
            pk=payment_method.pk).update(is_default=False)
        PaymentMethod.objects.filter(pk=payment_method.pk).update(is_default=True)
        payment_method.refresh_from_db()
        audit.record(actor=actor, action="payment_method.default_set", obj=payment_method, after={"default": True})
    return payment_method
