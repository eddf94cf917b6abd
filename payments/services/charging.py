"""Charging saved cards: one invoice (``charge_invoice``, also used by dunning retries) and the auto-charge run.

Safety rules (CONTRACT §7):
* every attempt gets the deterministic reference ``<invoice-number>-A<n>`` and is committed as a
  pending Payment *before* Paystack is called;
* an attempt whose outcome is unknown (time-out, crash, 5xx) is verified with Paystack before any
  new attempt; one Paystack has never seen is re-sent under the *same* reference, which Paystack
  refuses to charge twice;
* a pending attempt carries a short lease (``claimed_until``) so that a concurrent run skips the
  invoice instead of verifying an attempt that is still in flight.

The auto-charge run records its attempts a small batch at a time (``_claim_batch``: one committed
transaction, invoices locked SKIP LOCKED, attempts read after the lock) under the same rules; an
invoice whose last attempt is pending goes through ``charge_invoice`` and is verified first. Its
successful charges are settled a batch per transaction (``_Settlements`` → ``payment_apply_many``);
until then each is a pending, leased attempt, which a later run verifies if this one dies.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts import audit
from billing_ops import events
from billing_ops.access import WRITE, require_capability
from billing_ops.errors import ValidationFailed
from billing_ops.money import to_minor
from invoicing.models import Invoice, InvoiceStatus
from payments.models import (
    SETTLED_STATUSES,
    Payment,
    PaymentMethod,
    PaymentMethodKind,
    PaymentStatus,
    PaystackConfig,
)
from payments.paystack.gateway import (
    ChargeResult,
    ConfigurationError,
    DuplicateReference,
    GatewayTimeout,
    InvalidKey,
    InvalidRequest,
    NotFound,
    PaystackError,
    PaystackGateway,
    RateLimited,
    Unavailable,
)
from payments.services.config import build_gateway
from payments.services.core import (
    decline_code,
    payment_apply,
    payment_apply_many,
    payment_mark_failed,
    record_gateway_data,
)

logger = logging.getLogger(__name__)

CHARGEABLE_INVOICE_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE)
# Failures that are ours or the gateway's, not the customer's: no payment.failed, auto-charge retries them.
GATEWAY_ERROR_CODES = ("gateway_error", "rate_limited", "gateway_config")
AUTO_CHARGE_RUN_EVENT = "payments.auto_charge_run"
CLAIM_WINDOW = 500  # open invoices looked at per claim query


@dataclass(frozen=True)
class ChargeOutcome:
    """What ``charge_invoice`` did. status: succeeded | failed | pending | skipped."""

    status: str
    reason: str = ""
    payment: Payment | None = None
    invoice_id: int | None = None

    @property
    def is_error(self) -> bool:
        return self.reason in GATEWAY_ERROR_CODES or self.reason in ("unknown", "error")


def _lease() -> timedelta:
    seconds = getattr(settings, "PAYMENTS_CHARGE_LEASE_SECONDS", None)
    if seconds is None:
        seconds = settings.PAYSTACK_CONNECT_TIMEOUT + settings.PAYSTACK_READ_TIMEOUT + 30
    return timedelta(seconds=seconds)


def _default_card(tenant_id) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(tenant_id=tenant_id, is_default=True, reusable=True).first()


def _claim(*, actor, invoice_id, payment_method: PaymentMethod | None, reason: str):
    """In one committed transaction: decide what to do and record the attempt before any call.

    Returns ("skip", reason, payment|None) | ("verify", "", payment) | ("send", "", payment).
    """
    now = timezone.now()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(skip_locked=True).filter(pk=invoice_id).first()
        if invoice is None:
            return "skip", "busy", None
        if invoice.status not in CHARGEABLE_INVOICE_STATUSES or invoice.amount_due <= 0 or not invoice.number:
            return "skip", "not_payable", None
        latest = Payment.objects.select_for_update().filter(invoice=invoice, attempt__isnull=False).order_by("-attempt").first()
        if latest is not None and latest.status == PaymentStatus.PENDING:
            if latest.claimed_until and latest.claimed_until > now:
                return "skip", "in_progress", latest
            latest.claimed_until = now + _lease()
            latest.save(update_fields=["claimed_until", "updated_at"])
            return "verify", "", latest
        card = payment_method or _default_card(invoice.tenant_id)
        if card is None or not card.reusable:
            return "skip", "no_card", None
        if card.tenant_id != invoice.tenant_id:
            raise ValidationFailed("That card belongs to another tenant.", fields={"payment_method": ["not this tenant's"]})
        payment = _attempt(invoice=invoice, card=card, number=(latest.attempt if latest else 0) + 1, reason=reason,
                           claimed_until=now + _lease())
        payment.save(force_insert=True)
        audit.record(actor=actor, **_attempt_audit(payment, card=card, reason=reason))
        return "send", "", payment


def _attempt(*, invoice: Invoice, card: PaymentMethod, number: int, reason: str, claimed_until) -> Payment:
    """Attempt ``number`` at charging ``invoice`` to ``card``: an unsaved pending payment, reference ``<number>-A<n>``."""
    return Payment(
        tenant_id=invoice.tenant_id, invoice=invoice, amount=invoice.amount_due, currency=invoice.currency,
        method=PaymentMethodKind.CARD, status=PaymentStatus.PENDING, reference=f"{invoice.number}-A{number}",
        attempt=number, reason=reason[:16], payment_method=card, card_brand=card.brand, card_last4=card.last4,
        card_exp_month=card.exp_month, card_exp_year=card.exp_year, card_bank=card.bank, card_reusable=card.reusable,
        claimed_until=claimed_until,
    )


def _attempt_audit(payment: Payment, *, card: PaymentMethod, reason: str) -> dict:
    return {"action": "payment.attempt_recorded", "obj": payment,
            "after": {"reference": payment.reference, "amount": payment.amount, "reason": reason, "card": card.pk}}


def _settle(*, actor, payment: Payment, result: ChargeResult, route: str, defer=None) -> ChargeOutcome | None:
    """Act on Paystack's answer. ``defer``: the run's ``_Settlements.add``, which settles successes a batch at
    a time (the outcome then comes from the batch, and None is returned here)."""
    data = result.raw.get("data") if isinstance(result.raw, dict) else None
    expected = to_minor(payment.amount, payment.currency)
    if result.status == "success":
        if result.amount_minor != expected or (result.currency and result.currency != payment.currency):
            # Never apply an amount we did not ask for; leave it for a person to look at.
            _release(payment, data, note=f"Paystack reports {result.amount_minor} {result.currency}, expected {expected}")
            return ChargeOutcome("pending", "amount_mismatch", payment, payment.invoice_id)
        if defer is not None:
            defer(payment, data)
            return None
        payment = payment_apply(actor=actor, payment=payment, route=route, gateway_data=data)
        return ChargeOutcome("succeeded", "", payment, payment.invoice_id)
    if result.status == "failed":
        code = decline_code(result.gateway_response)
        payment = payment_mark_failed(actor=actor, payment=payment, code=code, message=result.gateway_response, gateway_data=data)
        if payment.status in SETTLED_STATUSES:  # a webhook settled it meanwhile
            return ChargeOutcome("succeeded", "", payment, payment.invoice_id)
        return ChargeOutcome("failed", code, payment, payment.invoice_id)
    _release(payment, data)
    return ChargeOutcome("pending", "gateway_pending", payment, payment.invoice_id)


def _release(payment: Payment, data: dict | None = None, note: str = "") -> None:
    """Keep the attempt pending but end its lease, so the next run verifies it."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != PaymentStatus.PENDING:
            return
        record_gateway_data(locked, data)
        locked.claimed_until = timezone.now()
        if note:
            locked.note = (locked.note + "\n" if locked.note else "") + note
        locked.save()


def _fail_without_event(*, actor, payment, code, message) -> ChargeOutcome:
    payment = payment_mark_failed(actor=actor, payment=payment, code=code, message=message, emit=False)
    return ChargeOutcome("failed", code, payment, payment.invoice_id)


def _verify(*, actor, gateway: PaystackGateway, payment: Payment, route: str, after: Exception | None):
    """Learn an attempt's outcome from Paystack. Returns a ChargeOutcome, or "resend" when Paystack never saw it."""
    try:
        result = gateway.verify(reference=payment.reference)
    except NotFound:
        if isinstance(after, Unavailable):
            # Refused connection or 5xx, and Paystack has no such transaction: nothing was charged.
            return _fail_without_event(actor=actor, payment=payment, code="gateway_error", message=after.message)
        if isinstance(after, GatewayTimeout):
            _release(payment)
            return ChargeOutcome("pending", "unknown", payment, payment.invoice_id)
        return "resend"
    except PaystackError as exc:
        logger.warning("Could not verify %s: %s", payment.reference, exc)
        _release(payment)
        return ChargeOutcome("pending", "unknown", payment, payment.invoice_id)
    return _settle(actor=actor, payment=payment, result=result, route=route)


def _send(*, actor, gateway: PaystackGateway, payment: Payment, route: str, card: PaymentMethod | None = None,
          defer=None) -> ChargeOutcome | None:
    card = card or payment.payment_method or _default_card(payment.tenant_id)
    if card is None:
        return _fail_without_event(actor=actor, payment=payment, code="gateway_config", message="No saved card to charge")
    email = card.email or payment.tenant.billing_email
    try:
        result = gateway.charge_authorization(
            authorization_code=card.authorization_code, email=email,
            amount_minor=to_minor(payment.amount, payment.currency), currency=payment.currency,
            reference=payment.reference,
            metadata={"invoice_id": payment.invoice_id, "tenant_id": payment.tenant_id, "attempt": payment.attempt},
        )
    except DuplicateReference as exc:
        outcome = _verify(actor=actor, gateway=gateway, payment=payment, route=route, after=exc)
        return outcome if isinstance(outcome, ChargeOutcome) else ChargeOutcome("pending", "unknown", payment, payment.invoice_id)
    except RateLimited as exc:
        return _fail_without_event(actor=actor, payment=payment, code="rate_limited", message=exc.message)
    except (InvalidKey, ConfigurationError) as exc:
        return _fail_without_event(actor=actor, payment=payment, code="gateway_config", message=exc.message)
    except InvalidRequest as exc:
        payment = payment_mark_failed(actor=actor, payment=payment, code="invalid_request", message=exc.message)
        return ChargeOutcome("failed", "invalid_request", payment, payment.invoice_id)
    except PaystackError as exc:  # time-out, 5xx, dropped connection: outcome unknown until verified
        logger.warning("Charge %s: %s; verifying", payment.reference, exc)
        outcome = _verify(actor=actor, gateway=gateway, payment=payment, route=route, after=exc)
        return outcome if isinstance(outcome, ChargeOutcome) else ChargeOutcome("pending", "unknown", payment, payment.invoice_id)
    return _settle(actor=actor, payment=payment, result=result, route=route, defer=defer)


def charge_invoice(*, actor, invoice: Invoice, payment_method: PaymentMethod | None = None, reason: str = "auto",
                   gateway: PaystackGateway | None = None) -> ChargeOutcome:
    """Charge the amount due of ``invoice`` to a saved card (the tenant's default unless given).

    Records the attempt (``<number>-A<n>``) in its own committed transaction before calling Paystack,
    and verifies an unknown previous attempt before making a new one. Declines emit
    ``payment.failed`` with the decline code as reason; success goes through ``payment_apply``.
    Safe to call concurrently for the same invoice: only one caller charges. Call it outside a
    transaction (the attempt must be committed before Paystack is called). ``gateway``: one built
    for this run (the auto-charge run passes its own, so that connections are reused).
    """
    require_capability(actor, WRITE)
    return _charge(actor=actor, invoice_id=invoice.pk, payment_method=payment_method, reason=reason, gateway=gateway)


def _charge(*, actor, invoice_id: int, payment_method: PaymentMethod | None, reason: str,
            gateway: PaystackGateway | None) -> ChargeOutcome:
    if gateway is None:
        config = PaystackConfig.load()
        if not config.is_configured:
            return ChargeOutcome("skipped", "not_configured", None, invoice_id)
        gateway = build_gateway(config)
    action, why, payment = _claim(actor=actor, invoice_id=invoice_id, payment_method=payment_method, reason=reason)
    if action == "skip":
        return ChargeOutcome("skipped", why, payment, invoice_id)
    if action == "verify":
        # The previous attempt's outcome is unknown: it decides, and no new attempt is made in this call.
        outcome = _verify(actor=actor, gateway=gateway, payment=payment, route=payment.reason or reason, after=None)
        if isinstance(outcome, ChargeOutcome):
            return outcome
        # Paystack never saw it: send it again under the same reference (a duplicate is refused).
    return _send(actor=actor, gateway=gateway, payment=payment, route=payment.reason or reason)


# --- the auto-charge run -----------------------------------------------------------------------


def auto_charge_candidates():
    """Issued/overdue invoices with something due whose tenant has a reusable default card, and which
    have no settled attempt, no customer decline (retrying declines is dunning's job) and no attempt
    in flight (a pending one whose lease has not run out: its worker is still calling Paystack)."""
    now = timezone.now()
    today = timezone.localdate()
    attempts = Payment.objects.filter(invoice=OuterRef("pk"), attempt__isnull=False)
    return (
        Invoice.objects.filter(status__in=CHARGEABLE_INVOICE_STATUSES, amount_due__gt=0, number__isnull=False)
        .filter(Q(issue_date__isnull=True) | Q(issue_date__lte=today))
        .filter(Exists(PaymentMethod.objects.filter(tenant=OuterRef("tenant"), is_default=True, reusable=True)))
        .exclude(Exists(attempts.filter(status__in=SETTLED_STATUSES)))
        .exclude(Exists(attempts.filter(status=PaymentStatus.FAILED).exclude(failure_code__in=GATEWAY_ERROR_CODES)))
        .exclude(Exists(attempts.filter(status=PaymentStatus.PENDING, claimed_until__gt=now)))
        .order_by("pk")
    )


@dataclass(frozen=True)
class _Claimed:
    """An attempt the run recorded (committed, pending, leased) and the card to charge it to."""

    payment: Payment
    card: PaymentMethod


def _claim_batch(*, actor, after_id: int, limit: int, reason: str) -> tuple[list, int | None]:
    """Claim up to ``limit`` candidates after ``after_id`` in ONE committed transaction (the batch form of ``_claim``).

    Locks the invoices (SKIP LOCKED: another run is claiming those), reads their attempts and
    default cards *after* taking the locks (so a concurrent run's committed claim is seen), and
    records a pending, leased attempt ``<number>-A<n>`` for each invoice whose last attempt is
    settled-by-error or absent, with one bulk insert and one bulk audit insert. Invoices with a
    pending attempt (lease run out: outcome unknown) are returned as ids for ``charge_invoice``,
    which verifies before anything else. Returns (jobs, last id looked at).
    """
    now = timezone.now()
    lease_until = now + _lease()
    fallback: list[int] = []
    ids: list[int] = []
    # The next window of open invoices in id order (the primary key's index, a few ms), and the candidate
    # conditions checked on that window only: run over the whole book, the candidate query is planned as a
    # scan of every invoice and payment (~150 ms at 100,000 invoices), once per batch.
    window = list(Invoice.objects.filter(pk__gt=after_id, status__in=CHARGEABLE_INVOICE_STATUSES, amount_due__gt=0,
                                         number__isnull=False).order_by("pk").values_list("pk", flat=True)[:CLAIM_WINDOW])
    if not window:
        return [], None
    try:
        with transaction.atomic():
            invoices = list(
                auto_charge_candidates().filter(pk__in=window)
                .select_for_update(skip_locked=True, of=("self",))
                .only("pk", "tenant_id", "number", "amount_due", "currency", "status")[:limit]
            )
            if len(invoices) < limit:
                # Every candidate of the window is here or locked by another run: the next batch starts after it.
                next_after = window[-1]
            else:
                next_after = invoices[-1].pk
            if not invoices:
                return [], next_after
            ids = [invoice.pk for invoice in invoices]
            latest: dict[int, tuple[int, str, str]] = {}
            for invoice_id, attempt, status, code in (Payment.objects.filter(invoice_id__in=ids, attempt__isnull=False)
                                                      .values_list("invoice_id", "attempt", "status", "failure_code")):
                if attempt > latest.get(invoice_id, (0, "", ""))[0]:
                    latest[invoice_id] = (attempt, status, code)
            cards = {card.tenant_id: card for card in PaymentMethod.objects.filter(
                tenant_id__in={invoice.tenant_id for invoice in invoices}, is_default=True, reusable=True)}
            claimed: list[_Claimed] = []
            for invoice in invoices:
                number, status, code = latest.get(invoice.pk, (0, "", ""))
                card = cards.get(invoice.tenant_id)
                fresh = status == "" or (status == PaymentStatus.FAILED and code in GATEWAY_ERROR_CODES)
                payable = invoice.status in CHARGEABLE_INVOICE_STATUSES and invoice.amount_due > 0 and invoice.number
                if status == PaymentStatus.PENDING or card is None:
                    fallback.append(invoice.pk)  # verify the unknown attempt / report the missing card
                    continue
                if not (fresh and payable):  # settled or declined since the candidates were listed
                    continue
                claimed.append(_Claimed(_attempt(invoice=invoice, card=card, number=number + 1, reason=reason,
                                                 claimed_until=lease_until), card))
            if claimed:
                Payment.objects.bulk_create([c.payment for c in claimed])
                audit.record_many(actor=actor, entries=[_attempt_audit(c.payment, card=c.card, reason=reason) for c in claimed])
    except IntegrityError:
        # A concurrent claim of one of these invoices got in first: let the one-invoice path sort each out.
        logger.info("Auto-charge batch after invoice %s collided with another run; claiming one by one", after_id)
        return list(ids), ids[-1]
    return [*claimed, *fallback], next_after


class _Settlements:
    """Successful charges of the run, settled a batch at a time (``payment_apply_many``: one transaction per
    batch instead of one per charge). Until then each stays a pending, leased attempt: a run that finds
    it after a crash verifies it with Paystack, and settling twice is a no-op."""

    BATCH = 100
    WAIT_S = 0.05  # how long a started batch waits for more successes

    def __init__(self, *, actor, route: str, outcomes: list, threaded: bool):
        self.actor, self.route, self.outcomes = actor, route, outcomes
        self.waiting: queue.Queue | list = queue.Queue(maxsize=self.BATCH * 4) if threaded else []
        self.thread = threading.Thread(target=self._run, name="auto-charge-settle", daemon=True) if threaded else None
        if self.thread is not None:
            self.thread.start()

    def add(self, payment: Payment, data: dict | None) -> None:
        if self.thread is not None:
            self.waiting.put((payment, data))  # blocks while the settler is a few batches behind
        else:
            self.waiting.append((payment, data))

    def flush(self) -> None:
        """Settle what is waiting (the run without threads, after each claimed batch)."""
        while self.waiting:
            batch, self.waiting[:] = self.waiting[:self.BATCH], self.waiting[self.BATCH:]
            self.outcomes.extend(self._settle(batch))

    def close(self) -> None:
        if self.thread is not None:
            self.waiting.put(None)
            self.thread.join()
        else:
            self.flush()

    def _run(self) -> None:
        try:
            while (item := self.waiting.get()) is not None:
                batch, deadline, last = [item], time.monotonic() + self.WAIT_S, False
                while len(batch) < self.BATCH:
                    try:
                        item = self.waiting.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if item is None:
                        last = True
                        break
                    batch.append(item)
                try:
                    connection.close_if_unusable_or_obsolete()
                except Exception:
                    logger.exception("Could not check the settling connection")
                self.outcomes.extend(self._settle(batch))
                if last:
                    break
        finally:
            connection.close()

    def _settle(self, batch: list[tuple[Payment, dict | None]]) -> list[ChargeOutcome]:
        try:
            settled = payment_apply_many(actor=self.actor, items=batch, route=self.route)
            return [ChargeOutcome("succeeded", "", payment, payment.invoice_id) for payment in settled]
        except Exception:  # e.g. a deadlock with a webhook: nothing of the batch was kept; one by one
            logger.exception("Settling %s auto-charged payments together failed; settling them one by one", len(batch))
        outcomes = []
        for payment, data in batch:
            try:
                payment = payment_apply(actor=self.actor, payment=payment, route=self.route, gateway_data=data)
                outcomes.append(ChargeOutcome("succeeded", "", payment, payment.invoice_id))
            except Exception:  # left pending: the next run verifies it
                logger.exception("Settling auto-charged payment %s failed", payment.reference)
                outcomes.append(ChargeOutcome("skipped", "error", None, payment.invoice_id))
        return outcomes


def _charge_one(actor, job, reason: str, gateway: PaystackGateway, settlements: _Settlements) -> ChargeOutcome | None:
    invoice_id = job.payment.invoice_id if isinstance(job, _Claimed) else job
    try:
        if isinstance(job, _Claimed):
            return _send(actor=actor, gateway=gateway, payment=job.payment, route=reason, card=job.card, defer=settlements.add)
        return _charge(actor=actor, invoice_id=job, payment_method=None, reason=reason, gateway=gateway)
    except Exception:  # one bad invoice must not stop the run
        logger.exception("Auto-charge of invoice %s failed", invoice_id)
        return ChargeOutcome("skipped", "error", None, invoice_id)


def _charging_thread(actor, reason: str, gateway: PaystackGateway, jobs: queue.Queue, outcomes: list,
                     settlements: _Settlements) -> None:
    """Charge the jobs from ``jobs`` until a None arrives, on one database connection for the whole run."""
    try:
        while (job := jobs.get()) is not None:
            connection.close_if_unusable_or_obsolete()  # a dropped connection is replaced, not reused
            outcome = _charge_one(actor, job, reason, gateway, settlements)
            if outcome is not None:
                outcomes.append(outcome)  # list.append is atomic
    finally:
        connection.close()  # each charging thread has its own connection


def run_auto_charge(*, actor, batch_size: int = 200, max_workers: int | None = None, reason: str = "auto") -> dict:
    """Charge every candidate invoice with bounded concurrency; returns the summary.

    ``charged``, ``failed`` (declines), ``pending`` (outcome not known yet), ``skipped`` and
    ``errors`` (gateway/configuration trouble and unexpected exceptions). Safe to run twice at once
    and to re-run after a crash: claims and deterministic references prevent double charges.

    ``max_workers`` (default ``settings.PAYMENTS_AUTO_CHARGE_WORKERS``, 16) threads each keep one
    database connection (and one keep-alive HTTP connection to Paystack, through the one gateway
    built for the run) and take claimed attempts from a bounded queue. This thread claims the
    candidates a small batch at a time (``_claim_batch``: one transaction, keyset on id), just
    before the queue has room for them, so that a claim's lease is never spent waiting in the queue.
    One more thread settles the successful charges up to 100 per transaction (``_Settlements``).
    """
    require_capability(actor, WRITE)
    started = timezone.now()
    workers = max_workers or getattr(settings, "PAYMENTS_AUTO_CHARGE_WORKERS", 16)
    # SQLite has one writer: threads would only queue on its lock. Inside a transaction, other
    # connections could not see its uncommitted rows, so the work stays on this connection.
    threaded = connection.vendor != "sqlite" and workers > 1 and not connection.in_atomic_block
    summary = {"charged": 0, "failed": 0, "pending": 0, "skipped": 0, "errors": 0, "invoices": []}
    config = PaystackConfig.load()
    if not config.is_configured:
        summary.update(errors=1, message="Paystack is not configured")
        return summary
    gateway = build_gateway(config)  # one per run: its per-thread sessions keep their connections alive
    claim_size = min(batch_size, workers * 2) if threaded else batch_size
    outcomes: list[ChargeOutcome] = []
    settlements = _Settlements(actor=actor, route=reason, outcomes=outcomes, threaded=threaded)
    jobs: queue.Queue = queue.Queue(maxsize=workers * 2)
    threads = [threading.Thread(target=_charging_thread, args=(actor, reason, gateway, jobs, outcomes, settlements),
                                name=f"auto-charge-{n}", daemon=True)
               for n in range(workers if threaded else 0)]
    for thread in threads:
        thread.start()
    last_id = 0
    try:
        while True:
            if threads:
                while jobs.qsize() > workers:  # claim only when the queue is about to run dry
                    time.sleep(0.005)
            batch, last = _claim_batch(actor=actor, after_id=last_id, limit=claim_size, reason=reason)
            if last is None:
                break
            last_id = last
            for job in batch:
                if threads:
                    jobs.put(job)
                elif (outcome := _charge_one(actor, job, reason, gateway, settlements)) is not None:
                    outcomes.append(outcome)
            if not threads:
                settlements.flush()
    finally:
        for _thread in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()
        settlements.close()
    for outcome in outcomes:
        key = {"succeeded": "charged", "failed": "failed", "pending": "pending", "skipped": "skipped"}[outcome.status]
        if outcome.is_error:
            key = "errors"
        summary[key] += 1
        summary["invoices"].append({
            "invoice": outcome.invoice_id, "status": outcome.status, "reason": outcome.reason,
            "reference": outcome.payment.reference if outcome.payment else None,
        })
    summary["started_at"] = started.isoformat()
    summary["finished_at"] = timezone.now().isoformat()
    totals = {k: v for k, v in summary.items() if k != "invoices"}
    # Recorded as an event (not only cached) so that the web process sees a run the worker did.
    with transaction.atomic():
        events.emit(AUTO_CHARGE_RUN_EVENT, actor=actor, **totals)
    logger.info("Auto-charge run: %s", {k: v for k, v in summary.items() if k != "invoices"})
    return summary
