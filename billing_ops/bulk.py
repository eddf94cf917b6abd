"""Writing many rows of one model fast: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.

For rows nobody needs the ids of straight away (audit entries, domain events, notices, invoice
lines): ``COPY … FROM STDIN`` skips the per-value Python work of a large ``INSERT`` (Django's
UNNEST arrays are dumped element by element), which dominated bulk invoice generation.
Values go through the fields exactly as ``save()`` prepares them (``pre_save``: auto_now and
defaults; ``get_db_prep_save``: JSON, decimals, dates). Runs in the caller's transaction.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def insert_rows(model: type[models.Model], objs: Sequence[models.Model], *, with_ids: bool = False) -> None:
    """Insert ``objs`` (unsaved instances of ``model``); with ``with_ids`` each gets its id first (on
    PostgreSQL taken from the table's identity sequence in one query), otherwise ids are not read back."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    if with_ids:
        pk = model._meta.pk
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [model._meta.db_table, pk.column, len(objs)])
            for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
    fields = [f for f in model._meta.concrete_fields
              if not (f.primary_key and getattr(objs[0], f.attname) is None and f.get_default() is None)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    # Plain columns (text, numbers, dates, foreign keys) go as they are; the rest through the field.
    plain = [f.get_internal_type() in _PLAIN_TYPES and not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False)
             for f in fields]
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([getattr(obj, f.attname) if is_plain else f.get_db_prep_save(f.pre_save(obj, True), connection)
                                for f, is_plain in zip(fields, plain, strict=True)])
    for obj in objs:  # saved, as bulk_create leaves them
        obj._state.adding, obj._state.db = False, connection.alias


_PLAIN_TYPES = frozenset({"CharField", "TextField", "IntegerField", "BigIntegerField", "PositiveIntegerField",
                          "PositiveSmallIntegerField", "SmallIntegerField", "BooleanField", "ForeignKey", "DateField"})


def save_many(objs: Sequence[models.Model], *, fields: list[str]) -> None:
    """Write ``fields`` of already-saved ``objs``: ``save(update_fields=…)`` for one, one UPDATE for many.
    Like ``save()``, stamps ``auto_now`` fields among ``fields`` (``bulk_update`` would not)."""
    if not objs:
        return
    if len(objs) == 1:
        objs[0].save(update_fields=fields)
        return
    model = type(objs[0])
    stamped = [f for f in model._meta.concrete_fields if f.name in fields and getattr(f, "auto_now", False)]
    if stamped:
        from django.utils import timezone

        now = timezone.now()
        for obj in objs:
            for field in stamped:
                setattr(obj, field.attname, now)
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields)
        return
    # One UPDATE … FROM (VALUES …): bulk_update's CASE WHEN expression per field and row costs far more
    # Python than the statement costs PostgreSQL.
    pk = model._meta.pk
    columns = [pk, *(model._meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in columns) + ")"
    sets = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:])
    names = ", ".join(quote(field.column) for field in columns)
    params = [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs for field in columns]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row] * len(objs))}) AS v({names}) "
                       f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}", params)
