"""Invoice generation: one invoice per (subscription, period start), issued as soon as it exists.

For every subscription whose current period has begun and has no invoice for it, build the lines
(plan and add-ons priced by ``subscriptions.pricing`` — prorated when a calendar cycle's first period
is short —, the previous period's usage in arrears from ``subscriptions.usage``, uninvoiced
``PendingProration`` rows as ``proration`` lines), apply the coupon and the tenant's account credit through the amount engine,
create and issue the invoice. Plain subscriptions (the common case) are made a batch per transaction
(``invoice_generate_batch``), the rest one subscription per transaction. Safe to run twice or at once:
rows are handled under their row locks (a batch skips rows another run holds), re-checked after the
lock, and the unique constraint on (subscription, period_start) is the last word. Batched by id so it
resumes after a crash.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import audit
from billing_ops import events
from billing_ops.money import ZERO, quantize
from billing_ops.queue import DB_CONNECTION_ERRORS
from invoicing import amounts as engine
from invoicing.models import Invoice

logger = logging.getLogger(__name__)

BILLABLE_STATUSES = ("active", "past_due", "trialing")


def has_reusable_payment_method(tenant_id) -> bool:
    """Whether the payments app knows a reusable card/bank for the tenant (False while it does not exist)."""
    try:
        from django.apps import apps

        model = apps.get_model("payments", "PaymentMethod")
    except (LookupError, ImportError):
        return False
    try:
        return model.objects.filter(tenant_id=tenant_id, reusable=True).exists()
    except Exception:  # noqa: BLE001 - a payments schema without those fields: treat as no method
        logger.warning("payments.PaymentMethod lacks tenant/reusable; treating tenants as without a payment method")
        return False


def due_subscriptions(*, today: dt.date):
    from subscriptions.models import Subscription

    invoiced = Invoice.objects.filter(subscription=OuterRef("pk"), period_start=OuterRef("current_period_start"))
    return (Subscription.objects.filter(status__in=BILLABLE_STATUSES, current_period_start__lte=today)
            .filter(~Exists(invoiced)).order_by("pk"))


def _period_invoiced(subscription_id: int) -> bool:
    from subscriptions.models import Subscription

    period_start = Subscription.objects.filter(pk=subscription_id).values_list("current_period_start", flat=True).first()
    return Invoice.objects.filter(subscription_id=subscription_id, period_start=period_start).exists()


def generate_due_invoices(*, actor, batch_size: int = 500, today: dt.date | None = None, bulk: bool = True,
                          id_range: tuple[int, int] | None = None) -> int:
    """Generate and issue the invoices of every due subscription period (those with ids in ``id_range``,
    inclusive, when given); returns how many were made.

    Each batch of due subscriptions goes first through ``invoice_generate_batch`` (one transaction for
    the common case); what it leaves (prorations, trials, usage, credit…) and any batch that fails is
    generated one subscription per transaction by ``invoice_generate_for_subscription``."""
    today = today or timezone.localdate()
    made, last_id = 0, 0
    due = due_subscriptions(today=today)
    if id_range is not None:
        due = due.filter(pk__gte=id_range[0], pk__lte=id_range[1])
    while True:
        ids = list(due.filter(pk__gt=last_id).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return made
        rest = ids
        if bulk:
            try:
                invoices, rest = invoice_generate_batch(actor=actor, subscription_ids=ids, today=today)
                made += len(invoices)
            except DB_CONNECTION_ERRORS:
                raise  # the connection is gone: stop now; the task is retried (billing_ops.queue.DB_RETRY)
            except Exception:
                # Nothing of the batch was kept: make its invoices one by one, so one bad subscription costs only itself.
                logger.exception("Bulk generation failed for subscriptions %s–%s; generating them one by one", ids[0], ids[-1])
                rest = ids
        made += _generate_one_by_one(actor=actor, subscription_ids=rest, today=today)
        last_id = ids[-1]


def _generate_one_by_one(*, actor, subscription_ids, today: dt.date) -> int:
    made = 0
    for subscription_id in subscription_ids:
        try:
            invoice = invoice_generate_for_subscription(actor=actor, subscription_id=subscription_id, today=today)
        except IntegrityError:
            invoice = None
            if not _period_invoiced(subscription_id):
                # Not the one-invoice-per-period constraint (e.g. a clashing invoice number): a real
                # failure, logged loudly; the subscription stays due and the next run retries it.
                logger.exception("Invoice generation failed for subscription %s", subscription_id)
            # else: another worker made this period's invoice first
        except DB_CONNECTION_ERRORS:
            raise  # the connection is gone: stop now; the task is retried (billing_ops.queue.DB_RETRY)
        except Exception:
            logger.exception("Invoice generation failed for subscription %s; the next run retries it", subscription_id)
            invoice = None
        made += invoice is not None
    return made


# --- bulk generation (the common case) -----------------------------------------------------------

def _usage_may_bill(subscriptions) -> set[int]:
    """Subscriptions that may have usage lines for their previous period, so they go one by one.

    Conservative: any usage event of an active meter between the earliest previous-period start and
    the latest current-period start of the batch, or a meter that charges even for no usage."""
    from subscriptions.usage import day_start, previous_period, price_usage
    from subscriptions.usage_models import Meter, UsageEvent

    meters = list(Meter.objects.filter(active=True).select_related("price"))
    if not meters:
        return set()
    currencies = {meter.currency for meter in meters}
    charging = {meter.currency for meter in meters if price_usage(meter, Decimal(0)) != 0}
    flagged, windows = set(), {}
    for subscription in subscriptions:
        if subscription.currency not in currencies:
            continue
        period = previous_period(subscription)
        if period is None:
            continue
        if subscription.currency in charging:
            flagged.add(subscription.pk)
        else:
            windows[subscription.pk] = period
    if windows:
        flagged |= set(UsageEvent.objects.filter(
            subscription_id__in=list(windows), meter__in=meters,
            timestamp__gte=day_start(min(start for start, _ in windows.values())),
            timestamp__lt=day_start(max(end for _, end in windows.values())),
        ).order_by().values_list("subscription_id", flat=True).distinct())
    return flagged


def invoice_generate_batch(*, actor, subscription_ids, today: dt.date | None = None) -> tuple[list[Invoice], list[int]]:
    """Generate, issue and send the invoices of the plain subscriptions among ``subscription_ids`` in ONE
    transaction; returns (invoices made, ids left for ``invoice_generate_for_subscription``).

    Plain: active or past due (not trialing), no uninvoiced prorations, no usage to bill, not a short
    calendar first period, no account credit to draw, lines that price cleanly and a total above zero.
    Each invoice, its lines, audit entries (``invoice.created``/``issued``/``sent``) and events
    (``invoice.created``/``issued``, through ``events.emit_many``) are exactly what the single path
    writes; the numbers are consecutive, taken with one counter update once everything that does not
    show them is written (the counter lock then covers only the rest). Subscriptions locked by another
    run are skipped (that run makes them); ones already invoiced are done.
    """
    from billing_ops.access import WRITE, require_capability
    from billing_ops.actors import actor_user
    from billing_ops.bulk import insert_rows, insert_values
    from billing_ops.errors import ValidationFailed
    from billing_ops.queue import enqueue_on_commit
    from invoicing.models import InvoiceLine, InvoiceStatus
    from invoicing.services import (
        AMOUNT_FIELDS,
        INVOICE_LINE_FIELDS,
        _buyer_details,
        _set_amounts,
        created_event_payload,
        invoice_line_values,
        invoice_preview,
        issued_event_payload,
        next_document_numbers,
    )
    from subscriptions.models import PendingProration, Price, Subscription, SubscriptionItem

    require_capability(actor, WRITE)
    today = today or timezone.localdate()
    with transaction.atomic():
        # skip_locked: two runs at once split the work instead of queueing behind each other.
        subscriptions = list(Subscription.objects.select_for_update(of=("self",), skip_locked=True)
                             .select_related("plan", "coupon", "tenant")
                             .filter(pk__in=list(subscription_ids), status__in=BILLABLE_STATUSES, current_period_start__lte=today)
                             .order_by("pk"))
        # Ids rather than instances in the IN lists: Django normalises each instance (a cost per row).
        invoiced = set(Invoice.objects.filter(subscription_id__in=[s.pk for s in subscriptions]).exclude(period_start=None)
                       .values_list("subscription_id", "period_start"))
        subscriptions = [s for s in subscriptions if (s.pk, s.current_period_start) not in invoiced]
        with_prorations = set(PendingProration.objects.filter(subscription_id__in=[s.pk for s in subscriptions], invoiced_at__isnull=True)
                              .values_list("subscription_id", flat=True))
        with_usage = _usage_may_bill(subscriptions)
        rest, plain = [], []
        for subscription in subscriptions:
            tenant = subscription.tenant
            if (subscription.status == "trialing" or subscription.pk in with_prorations or subscription.pk in with_usage
                    or (tenant.currency == subscription.currency and tenant.credit_balance > 0)
                    or _short_first_period(subscription, subscription.current_period_start, subscription.current_period_end)):
                rest.append(subscription.pk)
            else:
                plain.append(subscription)
        items_of: dict[int, list] = {}
        batch_items = list(SubscriptionItem.objects.filter(subscription_id__in=[s.pk for s in plain]))
        # The batch's few prices once each, rather than a price and product per item.
        prices = Price.objects.select_related("product").in_bulk({item.price_id for item in batch_items})
        for item in batch_items:
            item.price = prices[item.price_id]
            items_of.setdefault(item.subscription_id, []).append(item)

        issue_day = timezone.localdate()  # as invoice_issue: the day it is issued, not the run's "today"
        now = timezone.now()
        user = actor_user(actor)
        drafts = []
        item_lines, previews = {}, {}  # subscriptions on the same plan have the same lines: priced and figured once
        for subscription in plain:
            try:
                items = sorted(items_of.get(subscription.pk, []), key=lambda i: (i.kind != "base", i.pk))
                lines = []
                for item in items:  # priced once per price, quantity and plan in the batch
                    key = (item.price_id, str(item.quantity), item.kind, subscription.currency, subscription.plan_id)
                    line = item_lines.get(key)
                    if line is None:
                        line = item_lines[key] = _item_line(item, subscription)
                    lines.append(line)
                if not lines:
                    raise ValueError("no lines")
                currency = subscription.currency
                discount = None
                if subscription.coupon_id is not None:  # only a coupon needs the charges (as the single path sums them)
                    charges = sum((engine.compute_invoice(currency=currency, lines=[engine.LineInput(**line)]).subtotal
                                   for line in lines), ZERO)
                    discount = _coupon_discount(subscription, charges)
                key = (currency, discount, tuple((line["description"], str(line["quantity"]), str(line["unit_price"]),
                                                  str(line["tax_rate"]), line["kind"]) for line in lines))
                result = previews.get(key)
                if result is None:
                    result = previews[key] = invoice_preview(currency=currency, lines=lines, discount=discount, credit=ZERO)
            except (ValueError, ValidationFailed, engine.AmountError):
                rest.append(subscription.pk)  # the single path makes it or logs why not
                continue
            if result.total <= 0:
                rest.append(subscription.pk)  # settled at once on issue: the single path does that
                continue
            tenant = subscription.tenant
            terms = tenant.payment_terms_days if tenant.payment_terms_days is not None else settings.DEFAULT_PAYMENT_TERMS_DAYS
            invoice = Invoice(
                tenant=tenant, subscription=subscription, currency=currency, status=InvoiceStatus.ISSUED,
                memo="", period_start=subscription.current_period_start, period_end=subscription.current_period_end,
                created_by=user, discount_description=(subscription.coupon.code if discount and subscription.coupon else "")[:255],
                issue_date=issue_day, due_date=issue_day + dt.timedelta(days=terms), issued_at=now,
                seller_details=dict(settings.SELLER), buyer_details=_buyer_details(tenant),
            )
            _set_amounts(invoice, result)
            drafts.append((invoice, result))
        if not drafts:
            return [], rest

        # Everything that does not show the number is written before the number is taken: the counter row
        # stays locked from then to the commit, so the locked part of the batch is kept small and two
        # runs at once overlap everything else.
        invoices = [invoice for invoice, _ in drafts]
        insert_rows(Invoice, invoices, with_ids=True)
        if any(invoice.pk is None for invoice in invoices):  # backends without RETURNING
            by_subscription = dict(Invoice.objects.filter(subscription_id__in=[i.subscription_id for i in invoices], number=None,
                                                          period_start__isnull=False).values_list("subscription_id", "pk"))
            for invoice in invoices:
                invoice.pk = by_subscription[invoice.subscription_id]
        insert_values(InvoiceLine, ["invoice_id", *INVOICE_LINE_FIELDS], [
            (invoice.pk, *values) for invoice, result in drafts
            for values in invoice_line_values(result=result, periods=[(invoice.period_start, invoice.period_end)] * len(result.lines))])
        audit.record_many(actor=actor, entries=[
            {"action": "invoice.created", "obj": invoice,
             "after": {"status": InvoiceStatus.DRAFT, "currency": invoice.currency, **{f: getattr(invoice, f) for f in AMOUNT_FIELDS}}}
            for invoice in invoices])
        events.emit_many("invoice.created", actor=actor, payloads=[created_event_payload(i) for i in invoices])

        numbers = next_document_numbers(prefix="INV", year=issue_day.year, count=len(invoices))
        for invoice, number in zip(invoices, numbers, strict=True):
            invoice.number = number
        _set_numbers(invoices)
        email = settings.INVOICE_EMAIL_ON_GENERATION
        entries = []
        for invoice in invoices:
            entries.append({"action": "invoice.issued", "obj": invoice,
                            "before": {"status": InvoiceStatus.DRAFT, "number": None, "issue_date": None, "due_date": None},
                            "after": {"status": invoice.status, "number": invoice.number, "issue_date": invoice.issue_date,
                                      "due_date": invoice.due_date}})
            if email:
                entries.append({"action": "invoice.sent", "obj": invoice, "after": {"to": invoice.tenant.billing_email}})
        audit.record_many(actor=actor, entries=entries)
        events.emit_many("invoice.issued", actor=actor, payloads=[issued_event_payload(i) for i in invoices])
        if email:
            from invoicing.tasks import send_invoice_emails

            # One task for the batch; the sweep still finds any email it loses (the invoice.sent entries).
            enqueue_on_commit(send_invoice_emails, [invoice.pk for invoice in invoices])
    return invoices, rest


def _set_numbers(invoices: list[Invoice]) -> None:
    """Write the numbers given to ``invoices`` with one statement."""
    from django.db import connection

    if connection.vendor != "postgresql":
        Invoice.objects.bulk_update(invoices, ["number"])
        return
    table = connection.ops.quote_name(Invoice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} AS i SET number = v.number FROM unnest(%s::bigint[], %s::varchar[]) AS v(id, number) "
                       "WHERE i.id = v.id", [[i.pk for i in invoices], [i.number for i in invoices]])


def _tiers(price):
    from subscriptions.pricing import Tier

    return [Tier(up_to=t.get("up_to"), unit_price=str(t["unit_price"]), flat_fee=str(t.get("flat_fee") or "0"))
            for t in (price.tiers or [])] or None


def _item_line(item, subscription) -> dict:
    from subscriptions.pricing import price_for_quantity

    price = item.price
    if price.currency != subscription.currency:
        raise ValueError(f"Price {price.pk} is in {price.currency}, the subscription in {subscription.currency}")
    amount = price_for_quantity(model=price.pricing_model, quantity=item.quantity, currency=subscription.currency,
                                unit_amount=price.unit_amount, tiers=_tiers(price), package_size=price.package_size)
    name = price.product.name if item.kind == "add_on" else f"{subscription.plan.name} plan"
    quantity = item.quantity.normalize() if isinstance(item.quantity, Decimal) else item.quantity
    if price.pricing_model == "per_unit":
        return {"description": name, "quantity": item.quantity, "unit_price": price.unit_amount, "tax_rate": price.tax_rate,
                "kind": "plan" if item.kind == "base" else "add_on"}
    description = name if price.pricing_model == "flat" or quantity == 1 else f"{name} ({quantity:f} units)"
    return {"description": description, "quantity": Decimal(1), "unit_price": amount, "tax_rate": price.tax_rate,
            "kind": "plan" if item.kind == "base" else "add_on"}


def _active_coupon(subscription):
    """The coupon still discounting this period: the subscriptions app's rule when available."""
    try:
        from subscriptions.selectors import active_coupon
    except ImportError:  # pragma: no cover - subscriptions ships with the project
        active_coupon = None
    if active_coupon is not None:
        return active_coupon(subscription)
    coupon = subscription.coupon
    if coupon is None:
        return None
    used = subscription.coupon_cycles_used
    if (coupon.duration == "once" and used >= 1) or (coupon.duration == "repeating" and used >= (coupon.duration_cycles or 0)):
        return None
    return coupon


def _coupon_discount(subscription, charges: Decimal):
    """The coupon's discount for this period as an engine Discount, or None.

    ``coupon_cycles_used`` belongs to the subscriptions app (its renewal task counts completed periods),
    so generation only reads it.
    """
    coupon = _active_coupon(subscription)
    if coupon is None or not coupon.active:
        return None
    if coupon.kind == "percent" and coupon.percent_off is not None:
        return engine.Discount(percent=coupon.percent_off)
    if coupon.kind == "amount" and coupon.amount_off is not None and coupon.currency == subscription.currency:
        return engine.Discount(amount=min(coupon.amount_off, charges))
    return None


def _usage_lines(subscription) -> tuple[list[dict], list[tuple]]:
    """Usage is billed in arrears: the closed previous period's usage lines (subscriptions.usage)."""
    try:
        from subscriptions.usage import usage_lines_for_previous_period
    except ImportError:
        return [], []
    lines, period = usage_lines_for_previous_period(subscription=subscription)
    return list(lines), [period or (None, None)] * len(lines)


def _short_first_period(subscription, period_start, period_end):
    """For a calendar cycle the first period may be shorter than a full one (a start on the 16th of a
    monthly plan runs to the 1st). Returns the full period's start when it is, else None."""
    from subscriptions.periods import add_interval

    if getattr(subscription.plan, "billing_cycle", "anniversary") != "calendar":
        return None
    full_start = add_interval(period_end, subscription.plan.interval, -1)
    return full_start if full_start < period_start else None


def _prorated(line: dict, *, currency: str, full_start, period_start, period_end) -> dict:
    """A plan/add-on line charged for the days of a short first period only (CONTRACT §6 proration)."""
    from subscriptions.proration import prorate

    amount = engine.compute_invoice(currency=currency, lines=[engine.LineInput(**line)]).subtotal
    part = prorate(amount=amount, currency=currency, period_start=full_start, period_end=period_end, change_date=period_start)
    last = period_end - dt.timedelta(days=1)
    return {**line, "quantity": Decimal(1), "unit_price": part,
            "description": f"{line['description']} (prorated {period_start:%d %b} – {last:%d %b %Y})"}


def _gross(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    return amount + quantize(amount * rate / 100, currency)


def invoice_generate_for_subscription(*, actor, subscription_id: int, today: dt.date | None = None) -> Invoice | None:
    """The invoice of the subscription's current period, generated and issued; None when there is
    nothing to do (already invoiced, not billable, a trial without a payment method, no lines)."""
    from accounts.models import Tenant
    from accounts.services import tenant_credit_adjust
    from invoicing.services import invoice_create, invoice_issue, invoice_send
    from subscriptions.models import PendingProration, Subscription

    today = today or timezone.localdate()
    with transaction.atomic():
        subscription = (Subscription.objects.select_for_update(of=("self",)).select_related("plan", "coupon")
                        .filter(pk=subscription_id).first())
        if subscription is None or subscription.status not in BILLABLE_STATUSES or subscription.current_period_start > today:
            return None
        period_start, period_end = subscription.current_period_start, subscription.current_period_end
        if Invoice.objects.filter(subscription=subscription, period_start=period_start).exists():
            return None
        # A running trial bills nothing; an ended trial without a card cannot be charged: skip it
        # until a payment method exists (the subscriptions app moves it on).
        if subscription.status == "trialing" and (
                (subscription.trial_end and subscription.trial_end > today) or not has_reusable_payment_method(subscription.tenant_id)):
            return None
        tenant = Tenant.objects.select_for_update().get(pk=subscription.tenant_id)
        currency = subscription.currency

        lines, periods = [], []
        items = sorted(subscription.items.select_related("price__product"), key=lambda i: (i.kind != "base", i.pk))
        full_start = _short_first_period(subscription, period_start, period_end)
        for item in items:
            line = _item_line(item, subscription)
            if full_start is not None:
                line = _prorated(line, currency=currency, full_start=full_start, period_start=period_start, period_end=period_end)
            lines.append(line)
            periods.append((period_start, period_end))
        usage_lines, usage_periods = _usage_lines(subscription)
        lines += usage_lines
        periods += usage_periods
        prorations = list(PendingProration.objects.select_for_update().filter(
            subscription=subscription, invoiced_at__isnull=True, currency=currency).order_by("id"))
        charges = sum((engine.compute_invoice(currency=currency, lines=[engine.LineInput(**line)]).subtotal for line in lines), ZERO)
        credits_total = sum((_gross(p.amount, p.tax_rate, currency) for p in prorations if p.amount < 0), ZERO)
        charges_gross = sum((_gross(p.amount, p.tax_rate, currency) for p in prorations if p.amount > 0), ZERO)
        # Credits beyond what this invoice charges would make its total negative: they go to account credit.
        to_account = ZERO
        base = engine.compute_invoice(currency=currency, lines=[engine.LineInput(**line) for line in lines]) if lines else None
        if base is not None:
            charges_gross += base.total
        if -credits_total > charges_gross:
            to_account = -credits_total
        proration_lines = []
        for row in prorations:
            if row.amount < 0 and to_account > 0:
                continue
            proration_lines.append(row)
            lines.append({"description": row.description, "quantity": Decimal(1), "unit_price": row.amount,
                          "tax_rate": row.tax_rate, "kind": "proration"})
            periods.append((row.period_start, row.period_end))
        if not lines:
            logger.info("Subscription %s has nothing to invoice for %s", subscription.pk, period_start)
            return None

        discount = _coupon_discount(subscription, charges + sum((p.amount for p in proration_lines if p.amount > 0), ZERO))
        preview = engine.compute_invoice(currency=currency, lines=[engine.LineInput(**line) for line in lines], discount=discount)
        credit = ZERO
        if tenant.currency == currency:
            credit = min(tenant.credit_balance, max(preview.subtotal - preview.discount, ZERO))

        invoice = invoice_create(
            actor=actor, tenant=tenant, currency=currency, lines=lines, discount=discount, credit=credit or None,
            discount_description=subscription.coupon.code if discount and subscription.coupon else "",
            subscription=subscription, period_start=period_start, period_end=period_end, line_periods=periods,
            memo="",
        )
        now = timezone.now()
        stored = list(invoice.lines.order_by("position", "id"))
        proration_positions = [i for i, line in enumerate(lines) if line["kind"] == "proration"]
        for row, position in zip(proration_lines, proration_positions, strict=True):
            row.invoiced_at, row.invoice_line = now, stored[position]
            row.save(update_fields=["invoiced_at", "invoice_line"])
        if to_account > 0:
            tenant_credit_adjust(actor=actor, tenant=tenant, amount=to_account,
                                 reason=f"Downgrade credit beyond invoice {period_start:%Y-%m-%d}",
                                 source_type="subscriptions.subscription", source_id=str(subscription.pk))
            PendingProration.objects.filter(pk__in=[p.pk for p in prorations if p.amount < 0]).update(invoiced_at=now)
        invoice = invoice_issue(actor=actor, invoice=invoice)
        if settings.INVOICE_EMAIL_ON_GENERATION:
            # Issued and sent: the email with the PDF leaves after the commit (swept up if the broker is down).
            invoice = invoice_send(actor=actor, invoice=invoice)
    return invoice


def invoice_add_proration_lines(*, actor, subscription, issue: bool = True) -> Invoice | None:
    """Invoice a subscription's uninvoiced prorations now (e.g. an upgrade charged immediately) instead
    of waiting for the next period's invoice. The invoice has no period_start, so it never takes the
    period's place under the (subscription, period_start) constraint. Net credits become account credit.
    Returns None when nothing is pending. Optional hook for the subscriptions app (call it lazily)."""
    from accounts.services import tenant_credit_adjust
    from invoicing.services import invoice_create, invoice_issue
    from subscriptions.models import PendingProration, Subscription

    with transaction.atomic():
        subscription = Subscription.objects.select_for_update(of=("self",)).get(pk=subscription.pk)
        rows = list(PendingProration.objects.select_for_update().filter(
            subscription=subscription, invoiced_at__isnull=True, currency=subscription.currency).order_by("id"))
        if not rows:
            return None
        now = timezone.now()
        gross = sum((_gross(r.amount, r.tax_rate, subscription.currency) for r in rows), ZERO)
        if gross <= 0:
            if gross < 0:
                tenant_credit_adjust(actor=actor, tenant=subscription.tenant, amount=-gross, reason="Credit for a subscription change",
                                     source_type="subscriptions.subscription", source_id=str(subscription.pk))
            PendingProration.objects.filter(pk__in=[r.pk for r in rows]).update(invoiced_at=now)
            return None
        lines = [{"description": r.description, "quantity": Decimal(1), "unit_price": r.amount, "tax_rate": r.tax_rate, "kind": "proration"}
                 for r in rows]
        invoice = invoice_create(actor=actor, tenant=subscription.tenant, currency=subscription.currency, lines=lines,
                                 subscription=subscription, line_periods=[(r.period_start, r.period_end) for r in rows],
                                 memo="Prorated charges for a change to your subscription")
        for row, line in zip(rows, invoice.lines.order_by("position", "id"), strict=True):
            row.invoiced_at, row.invoice_line = now, line
            row.save(update_fields=["invoiced_at", "invoice_line"])
        if issue:
            invoice = invoice_issue(actor=actor, invoice=invoice)
    return invoice
