"""Exports of the (filtered) invoice list: a streamed CSV and a PDF register with totals per currency."""
from __future__ import annotations

import csv

from django.db import transaction
from django.db.models import Count, Sum
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

CSV_COLUMNS = [
    ("number", "number"), ("status", "status"), ("tenant_id", "tenant_id"), ("tenant", "tenant__name"), ("currency", "currency"),
    ("issue_date", "issue_date"), ("due_date", "due_date"), ("period_start", "period_start"), ("period_end", "period_end"),
    ("subtotal", "subtotal"), ("discount", "discount"), ("credit_applied", "credit_applied"), ("tax", "tax"), ("total", "total"),
    ("amount_paid", "amount_paid"), ("amount_credited", "amount_credited"), ("amount_refunded", "amount_refunded"),
    ("amount_due", "amount_due"), ("created_at", "created_at"), ("id", "id"),
]
CHUNK_SIZE = 2000
REGISTER_MAX_ROWS = 1000
# Totals in the register count documents that stand (drafts are not documents yet; void ones are cancelled).
REGISTER_TOTAL_EXCLUDES = ("draft", "void")


class _Echo:
    """csv.writer target that hands each line back instead of buffering it."""

    def write(self, value):
        return value


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet must not run a tenant name as a formula
    return str(value)  # Decimals keep their places: "31.44"


def csv_rows(queryset):
    """Header, then one row per invoice, read in chunks: memory stays flat whatever the row count."""
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in CSV_COLUMNS])
    rows = queryset.order_by("-created_at", "-id").values_list(*[field for _, field in CSV_COLUMNS])
    buffer = []
    # Inside a transaction the server-side cursor is declared WITHOUT HOLD and streams: in autocommit
    # Django declares it WITH HOLD, and PostgreSQL then runs the whole query and stores every row
    # (1,000,000 invoices) before the first one is sent. A read-only transaction for the download.
    with transaction.atomic():
        for row in rows.iterator(chunk_size=CHUNK_SIZE):
            buffer.append(writer.writerow([_cell(value) for value in row]))
            if len(buffer) >= 500:  # ~60 KB per chunk: fewer, larger writes to the socket
                yield "".join(buffer)
                buffer = []
    if buffer:
        yield "".join(buffer)


def csv_response(queryset) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="invoices-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response


def register_totals(queryset) -> list[dict]:
    return list(
        queryset.exclude(status__in=REGISTER_TOTAL_EXCLUDES).order_by().values("currency")
        .annotate(count=Count("id"), total=Sum("total"), tax=Sum("tax"), paid=Sum("amount_paid"), credited=Sum("amount_credited"),
                  due=Sum("amount_due"))
        .order_by("currency")
    )


def _filters_text(filterset) -> str:
    if filterset is None or not filterset.is_bound or not filterset.is_valid():
        return "All invoices"
    parts = []
    for name, value in filterset.form.cleaned_data.items():
        if value not in (None, "", []):
            parts.append(f"{filterset.form.fields[name].label or name}: {value}")
    return "; ".join(parts) or "All invoices"


def register_pdf_response(queryset, *, filterset=None) -> HttpResponse:
    from invoicing.pdf import register_pdf

    rows = list(queryset.order_by("-created_at", "-id")[: REGISTER_MAX_ROWS + 1])
    truncated = len(rows) > REGISTER_MAX_ROWS
    pdf = register_pdf(invoices=rows[:REGISTER_MAX_ROWS], totals=register_totals(queryset), filters_text=_filters_text(filterset),
                       generated_at=timezone.now(), truncated=truncated, max_rows=REGISTER_MAX_ROWS)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="invoice-register-{timezone.now():%Y%m%d}.pdf"'
    return response
