"""Notifications to tenants: templates, preferences, sending and the send log.

``notify(*, tenant, kind, context, essential=None)`` is the one entry point (other apps may call
it lazily). It renders the kind's template, records a ``Notification`` row and, for email,
sends after the transaction commits; a failed send is retried by the outbound-deliveries task.
Templates are Django templates rendered by a separate engine with no loaders and no tag
libraries, against a fixed set of variables; a template that does not compile or uses an
unknown variable is refused when staff save it, not when a notice is sent.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template import Context, Engine
from django.utils import timezone

from accounts import audit
from billing_ops.access import WRITE, require_capability
from billing_ops.errors import ValidationFailed
from dunning.models import Channel, Notification, NotificationKind, NotificationPreference, NotificationStatus, NotificationTemplate

logger = logging.getLogger(__name__)

K = NotificationKind
# Legally required or transactional notices: sent even to tenants who opted out.
ESSENTIAL_KINDS = frozenset({K.INVOICE_ISSUED, K.PAYMENT_SUCCEEDED, K.CREDIT_NOTE_APPROVED, K.SUBSCRIPTION_SUSPENDED,
                             K.SUBSCRIPTION_REACTIVATED, K.FINAL_WARNING})
MAX_SEND_ATTEMPTS = 5

_SIGN = "\n\n— {{ seller_name }}"
DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {
    K.INVOICE_ISSUED: ("Invoice {{ invoice_number }} for {{ currency }} {{ amount }}",
                       "Hello {{ tenant_name }},\n\nInvoice {{ invoice_number }} for {{ currency }} {{ amount }} is due on {{ due_date }}."),
    K.PAYMENT_SUCCEEDED: ("Receipt: {{ currency }} {{ amount }} received",
                          "Hello {{ tenant_name }},\n\nWe received {{ currency }} {{ amount }} for invoice {{ invoice_number }}. Thank you."),
    K.PAYMENT_FAILED: ("Payment failed for invoice {{ invoice_number }}",
                       "Hello {{ tenant_name }},\n\nWe could not collect {{ currency }} {{ amount }} for invoice {{ invoice_number }}"
                       "{% if reason %} ({{ reason }}){% endif %}. We will try again{% if next_retry_date %} on {{ next_retry_date }}{% endif %}. "
                       "You can update your payment method here: {{ update_payment_link }}"),
    K.DUNNING_REMINDER: ("Action required: invoice {{ invoice_number }} is unpaid",
                         "Hello {{ tenant_name }},\n\nInvoice {{ invoice_number }} ({{ currency }} {{ amount }}, due {{ due_date }}) is still unpaid. "
                         "Please update your payment method: {{ update_payment_link }}"),
    K.FINAL_WARNING: ("Final warning: service suspension on {{ suspension_date }}",
                      "Hello {{ tenant_name }},\n\nInvoice {{ invoice_number }} ({{ currency }} {{ amount }}) is unpaid. Your service will be "
                      "suspended on {{ suspension_date }} unless it is paid. Pay or update your card: {{ update_payment_link }}"),
    K.SUBSCRIPTION_SUSPENDED: ("Your service has been suspended",
                               "Hello {{ tenant_name }},\n\nYour service is suspended because invoice {{ invoice_number }} "
                               "({{ currency }} {{ amount }}) is unpaid. Paying it restores the service automatically: {{ update_payment_link }}"),
    K.SUBSCRIPTION_REACTIVATED: ("Your service is active again",
                                 "Hello {{ tenant_name }},\n\nThank you: your balance is settled and your service is active again."),
    K.CARD_EXPIRING: ("Your card ending {{ card_last4 }} expires soon",
                      "Hello {{ tenant_name }},\n\nYour {{ card_brand }} card ending {{ card_last4 }} expires at the end of {{ card_expiry }}. "
                      "Please update it: {{ update_payment_link }}"),
    K.CREDIT_NOTE_APPROVED: ("Credit note for invoice {{ invoice_number }}",
                             "Hello {{ tenant_name }},\n\nA credit of {{ currency }} {{ amount }} was approved on invoice {{ invoice_number }}."),
    K.TRIAL_ENDING: ("Your trial ends on {{ trial_end }}",
                     "Hello {{ tenant_name }},\n\nYour trial ends on {{ trial_end }}. Add a payment method to continue: {{ update_payment_link }}"),
    K.RENEWAL_UPCOMING: ("Your subscription renews on {{ renewal_date }}",
                         "Hello {{ tenant_name }},\n\nYour subscription renews on {{ renewal_date }} for {{ currency }} {{ amount }}."),
}

VARIABLES: dict[str, object] = {
    "tenant_name": "Acme Logistics", "amount": "1,500.00", "currency": "NGN", "invoice_number": "INV-2026-000123",
    "due_date": "2026-11-15", "update_payment_link": "https://billing.example/update-payment/1/", "reason": "Insufficient funds",
    "next_retry_date": "2026-11-17", "suspension_date": "2026-12-05", "step": 2, "step_label": "Action required",
    "case_id": 42, "card_brand": "visa", "card_last4": "4081", "card_expiry": "12/2026", "trial_end": "2026-12-01",
    "renewal_date": "2026-12-01", "seller_name": "Billing Ops Demo Ltd",
}
_INVALID = "\x00invalid\x00"


def _engine(strict: bool) -> Engine:
    # No loaders (so no include/extends of files) and no tag libraries beyond the built-ins.
    return Engine(dirs=[], app_dirs=False, libraries={}, string_if_invalid=_INVALID + "%s\x00" if strict else "", autoescape=True)


_STRICT = _engine(True)
_LENIENT = _engine(False)


def sample_context() -> dict:
    return dict(VARIABLES)


def default_template(kind: str) -> tuple[str, str, str]:
    subject, text = DEFAULT_TEMPLATES[kind]
    text = text + _SIGN
    html = "<p>" + text.replace("\n\n", "</p><p>") + "</p>"
    return subject, text, html


def validate_template(*, subject: str, body_text: str, body_html: str = "") -> None:
    """Refuse a template that does not compile or render with the sample context."""
    errors: dict[str, list[str]] = {}
    for field, source, autoescape in (("subject", subject, False), ("body_text", body_text, False), ("body_html", body_html, True)):
        if field != "body_html" and not (source or "").strip():
            errors[field] = ["Required."]
            continue
        if not source:
            continue
        try:
            template = _STRICT.from_string(source)
            output = template.render(Context(sample_context(), autoescape=autoescape))
        except Exception as exc:  # noqa: BLE001 - any compile or render error is the template's fault
            errors[field] = [f"{type(exc).__name__}: {exc}"]
            continue
        if _INVALID in output:
            names = sorted({part.split("\x00")[0] for part in output.split(_INVALID)[1:]})
            errors[field] = [f"Unknown variable(s): {', '.join(n or '?' for n in names)}. Allowed: {', '.join(sorted(VARIABLES))}."]
    if errors:
        raise ValidationFailed("The template is not valid.", code="invalid_template", fields=errors)


def template_for(kind: str) -> tuple[str, str, str]:
    row = NotificationTemplate.objects.filter(kind=kind).first()
    if row:
        return row.subject, row.body_text, row.body_html
    return default_template(kind)


@functools.lru_cache(maxsize=256)
def _compiled(source: str):
    """A template compiled once per process; keyed by its text, so an edited template is simply a new entry."""
    return _LENIENT.from_string(source)


def _compile(source: tuple[str, str, str]) -> tuple:
    subject, text, html = source
    return _compiled(subject), _compiled(text), _compiled(html) if html else None


def _render_compiled(compiled: tuple, context: dict) -> tuple[str, str, str]:
    subject, text, html = compiled
    ctx = {**{k: "" for k in VARIABLES}, "seller_name": settings.SELLER.get("name", ""), **context}
    return (
        subject.render(Context(ctx, autoescape=False)).strip().replace("\n", " "),
        text.render(Context(ctx, autoescape=False)),
        html.render(Context(ctx, autoescape=True)) if html is not None else "",
    )


def render(kind: str, context: dict, *, source: tuple[str, str, str] | None = None) -> tuple[str, str, str]:
    """(subject, text, html) for ``kind``; falls back to the shipped default if a stored template breaks."""
    try:
        return _render_compiled(_compile(source or template_for(kind)), context)
    except Exception:
        logger.exception("Notification template %s failed to render; using the default", kind)
        if source is None and kind in DEFAULT_TEMPLATES:
            return render(kind, context, source=default_template(kind))
        raise


def template_save(*, actor, kind: str, subject: str, body_text: str, body_html: str = "") -> NotificationTemplate:
    """Store staff wording for ``kind`` after checking it compiles and renders with the sample context."""
    require_capability(actor, WRITE)
    if kind not in NotificationKind.values:
        raise ValidationFailed(f"Unknown notification type {kind!r}.")
    validate_template(subject=subject, body_text=body_text, body_html=body_html)
    with transaction.atomic():
        row = NotificationTemplate.objects.select_for_update().filter(kind=kind).first()
        before = {"subject": row.subject, "body_text": row.body_text} if row else {}
        if row is None:
            row = NotificationTemplate(kind=kind)
        row.subject, row.body_text, row.body_html = subject, body_text, body_html
        row.updated_by = actor if getattr(actor, "pk", None) else None
        row.save()
        audit.record(actor=actor, action="notification_template.saved", obj=row, before=before,
                     after={"subject": subject, "body_text": body_text})
    return row


def preference_set(*, actor, tenant, opt_out_non_essential: bool) -> NotificationPreference:
    require_capability(actor, WRITE)
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.select_for_update().get_or_create(tenant=tenant)
        before = {"opt_out_non_essential": pref.opt_out_non_essential}
        pref.opt_out_non_essential = bool(opt_out_non_essential)
        pref.save()
        audit.record(actor=actor, action="tenant.notification_preference", obj=tenant, before=before,
                     after={"opt_out_non_essential": pref.opt_out_non_essential})
    return pref


def is_opted_out(tenant) -> bool:
    return NotificationPreference.objects.filter(tenant=tenant, opt_out_non_essential=True).exists()


def update_payment_link(tenant) -> str:
    pattern = getattr(settings, "DUNNING_UPDATE_PAYMENT_URL", settings.SITE_URL + "/update-payment/{tenant_id}/")
    return pattern.format(tenant_id=tenant.pk)


def _plain(value):
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return value


def notify(*, tenant, kind: str, context: dict, essential: bool | None = None, case=None,
           channel: str = Channel.EMAIL, dedupe_key: str | None = None) -> Notification:
    """Record and send one notice. Returns the Notification (an existing one for a repeated ``dedupe_key``).

    Opted-out tenants get non-essential notices recorded as ``opted_out`` and not sent.
    Email goes out after the surrounding transaction commits.
    """
    if kind not in NotificationKind.values:
        raise ValidationFailed(f"Unknown notification type {kind!r}.")
    if dedupe_key:
        existing = Notification.objects.filter(dedupe_key=dedupe_key).first()
        if existing:
            return existing
    essential = (kind in ESSENTIAL_KINDS) if essential is None else essential
    context = {"tenant_name": tenant.name, "update_payment_link": update_payment_link(tenant),
               **{k: _plain(v) for k, v in context.items()}}
    subject, text, html = render(kind, context)
    status = NotificationStatus.PENDING
    if not essential and is_opted_out(tenant):
        status = NotificationStatus.OPTED_OUT
    elif channel == Channel.IN_APP:
        status = NotificationStatus.SENT
    to = tenant.billing_email if channel == Channel.EMAIL else ("deployment webhook" if channel == Channel.WEBHOOK else "in-app")
    try:
        with transaction.atomic():
            note = Notification.objects.create(
                tenant=tenant, case=case, kind=kind, channel=channel, essential=essential, to=to, subject=subject,
                body_text=text, body_html=html, status=status, dedupe_key=dedupe_key,
                sent_at=timezone.now() if status == NotificationStatus.SENT else None,
            )
            if status == NotificationStatus.PENDING and channel == Channel.WEBHOOK:
                from dunning.outbox import outbox_write

                outbox_write(tenant_id=tenant.pk, event_type=f"notification.{kind}",
                             data={"kind": kind, "subject": subject, "text": text, "notification_id": note.pk})
                note.status, note.sent_at = NotificationStatus.SENT, timezone.now()
                note.save(update_fields=["status", "sent_at"])
    except IntegrityError:
        if dedupe_key:
            return Notification.objects.get(dedupe_key=dedupe_key)
        raise
    note.created_now = True
    if note.status == NotificationStatus.PENDING:
        transaction.on_commit(lambda: send_notification(note.pk))
    return note


def notify_in_app_many(*, kind: str, items: list[tuple], essential: bool | None = None) -> int:
    """``notify(..., channel=in_app)`` for many notices of one kind at once: see ``notify_many``."""
    return notify_many(kind=kind, items=items, essential=essential, channel=Channel.IN_APP)


def notify_many(*, kind: str, items: list[tuple], essential: bool | None = None, channel: str = Channel.EMAIL) -> int:
    """``notify`` for many notices of one kind at once, with the same rows: ``items`` are (tenant, context,
    dedupe_key) tuples; a dedupe key already used adds nothing. Returns how many were recorded.
    In-app notices are sent by being recorded; emails are sent after the commit by one task
    (``dunning.tasks.send_notifications``), so a batch is never held up by the mail server — the
    retry sweep sends any whose task was lost."""
    if kind not in NotificationKind.values:
        raise ValidationFailed(f"Unknown notification type {kind!r}.")
    if channel not in (Channel.IN_APP, Channel.EMAIL):
        raise ValueError(f"notify_many sends in-app and email notices, not {channel}")
    essential = (kind in ESSENTIAL_KINDS) if essential is None else essential
    keys = [key for _, _, key in items if key]
    seen = set(Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)) if keys else set()
    opted_out = set() if essential else set(NotificationPreference.objects.filter(
        tenant__in={tenant.pk for tenant, _, _ in items}, opt_out_non_essential=True).values_list("tenant_id", flat=True))
    compiled = _compile(template_for(kind))
    now = timezone.now()
    sent = NotificationStatus.SENT if channel == Channel.IN_APP else NotificationStatus.PENDING
    rows = []
    for tenant, context, key in items:
        if key and key in seen:
            continue
        seen.add(key)
        context = {"tenant_name": tenant.name, "update_payment_link": update_payment_link(tenant),
                   **{k: _plain(v) for k, v in context.items()}}
        try:
            subject, text, html = _render_compiled(compiled, context)
        except Exception:  # noqa: BLE001 - a broken stored template: render() logs and falls back to the default
            subject, text, html = render(kind, context)
        status = NotificationStatus.OPTED_OUT if tenant.pk in opted_out else sent
        rows.append((tenant.pk, kind, channel, essential, "in-app" if channel == Channel.IN_APP else tenant.billing_email,
                     subject, text, html, status, key, now if status == NotificationStatus.SENT else None))
    from billing_ops.bulk import insert_values

    pending = [index for index, row in enumerate(rows) if row[8] == NotificationStatus.PENDING]
    # A key taken meanwhile fails the batch: the caller falls back to notify().
    ids = insert_values(Notification, ["tenant_id", "kind", "channel", "essential", "to", "subject", "body_text", "body_html",
                                       "status", "dedupe_key", "sent_at"], rows, with_ids=bool(pending))
    if pending:
        from billing_ops.queue import enqueue_on_commit
        from dunning.tasks import send_notifications

        enqueue_on_commit(send_notifications, [ids[index] for index in pending])
    return len(rows)


def send_notification(pk: int) -> str:
    """Send one pending email notice (row-locked, so two workers never send it twice)."""
    with transaction.atomic():
        note = (Notification.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status__in=[NotificationStatus.PENDING, NotificationStatus.FAILED]).first())
        if note is None:
            return "skipped"
        try:
            message = EmailMultiAlternatives(note.subject, note.body_text, settings.DEFAULT_FROM_EMAIL, [note.to])
            if note.body_html:
                message.attach_alternative(note.body_html, "text/html")
            message.send(fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - SMTP and backend errors vary; record and retry
            note.attempts += 1
            note.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if note.attempts >= MAX_SEND_ATTEMPTS:
                note.status, note.next_attempt_at = NotificationStatus.GAVE_UP, None
            else:
                note.status = NotificationStatus.FAILED
                note.next_attempt_at = timezone.now() + dt.timedelta(minutes=2 ** note.attempts)
            note.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("Notification %s failed: %s", note.pk, note.last_error)
            return note.status
        note.attempts += 1
        note.status, note.sent_at, note.last_error, note.next_attempt_at = NotificationStatus.SENT, timezone.now(), "", None
        note.save(update_fields=["attempts", "status", "sent_at", "last_error", "next_attempt_at"])
        return note.status


def retry_notifications(*, batch: int = 100) -> int:
    """Send failed notices whose retry time has come, and pending ones whose on-commit send was lost."""
    now = timezone.now()
    due = Notification.objects.filter(
        Q(status=NotificationStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=NotificationStatus.PENDING, channel=Channel.EMAIL, created_at__lte=now - dt.timedelta(minutes=5))
    ).values_list("pk", flat=True)[:batch]
    sent = 0
    for pk in list(due):
        if send_notification(pk) == NotificationStatus.SENT:
            sent += 1
    return sent
