"""Writing many rows of one model fast: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.

For rows nobody needs the ids of straight away (audit entries, domain events, notices, invoice
lines): ``COPY … FROM STDIN`` skips the per-value Python work of a large ``INSERT`` (Django's
UNNEST arrays are dumped element by element), which dominated bulk invoice generation.
``insert_rows`` takes model instances; ``insert_values`` takes plain rows (a tuple per row, no
instances built), for the hot paths. Both write what ``save()`` writes: defaults and auto_now
filled in, each value prepared by its field (``get_db_prep_save``) unless psycopg takes the
Python value as it is (text, numbers, ``Decimal``, dates, UUIDs).
Runs in the caller's transaction.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from operator import attrgetter

from django.db import connection, models
from django.utils import timezone


def insert_rows(model: type[models.Model], objs: Sequence[models.Model], *, with_ids: bool = False) -> None:
    """Insert ``objs`` (unsaved instances of ``model``); with ``with_ids`` each gets its id first (on
    PostgreSQL taken from the table's identity sequence in one query), otherwise ids are not read back."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    if with_ids:
        for obj, value in zip(objs, _next_ids(model, len(objs)), strict=True):
            setattr(obj, model._meta.pk.attname, value)
    fields = [f for f in model._meta.concrete_fields
              if not (f.primary_key and getattr(objs[0], f.attname) is None and f.get_default() is None)]
    getters = [_from_obj(f) for f in fields]
    with _copy(model, [f.column for f in fields]) as copy:
        for obj in objs:
            copy.write_row([get(obj) for get in getters])
    for obj in objs:  # saved, as bulk_create leaves them
        obj._state.adding, obj._state.db = False, connection.alias


def insert_values(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence], *,
                  with_ids: bool = False) -> list | None:
    """Insert ``rows``: each a sequence of values for the fields ``names`` (attnames: ``tenant_id``), as the
    model's fields hold them (``Decimal``, date, aware datetime, dict for JSON). Fields not named get what
    ``save()`` gives them: their default (a callable one per row) or, for ``auto_now``/``auto_now_add``,
    the time. With ``with_ids`` returns the new ids, in order (the auto primary key must not be named)."""
    rows = list(rows)
    if not rows:
        return [] if with_ids else None
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(names, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs)
        return [obj.pk for obj in objs] if with_ids else None
    opts = model._meta
    given = {opts.get_field(name).attname: index for index, name in enumerate(names)}
    pk = opts.pk
    ids = _next_ids(model, len(rows)) if with_ids else None
    fields, getters = [], []
    for field in opts.concrete_fields:
        index = given.get(field.attname)
        if field is pk and index is None and not field.has_default():
            if with_ids:
                fields.append(field)
                getters.append(None)  # taken from ids below
            continue
        fields.append(field)
        if index is not None:
            prep = _prep(field)
            getters.append(index if prep is None else _prepared(prep, index))
        elif _sets_itself(field):
            getters.append(_now)
        elif field.has_default() and callable(field.default):
            getters.append(_default(field))
        else:
            getters.append(_constant(field.get_db_prep_save(field.get_default(), connection)))
    with _copy(model, [f.column for f in fields]) as copy:
        for number, row in enumerate(rows):
            copy.write_row([row[g] if type(g) is int else (ids[number] if g is None else g(row)) for g in getters])
    return ids


def _next_ids(model: type[models.Model], count: int) -> list:
    """``count`` ids from the table's identity sequence, in one query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, model._meta.pk.column, count])
        return [value for (value,) in cursor.fetchall()]


@contextmanager
def _copy(model: type[models.Model], columns: list[str]):
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN") as copy:
            yield copy


def _sets_itself(field: models.Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _prep(field: models.Field):
    """None when psycopg writes the field's Python value exactly as ``get_db_prep_save`` would (on PostgreSQL),
    else a function value → database value: ``get_db_prep_save``, skipped where it is a no-op (None for
    Django's own fields, aware datetimes) or a plain wrap (JSON: ``Jsonb`` with the field's encoder)."""
    kind = field.get_internal_type()
    if kind in _PLAIN_TYPES and not _sets_itself(field):
        return None
    builtin = type(field).__module__.startswith("django.")

    def prepared(value):
        return None if value is None and builtin else field.get_db_prep_save(value, connection)

    if kind == "JSONField":
        from django.db.backends.postgresql.operations import get_json_dumps
        from django.db.backends.postgresql.psycopg_any import Jsonb

        dumps = get_json_dumps(field.encoder)
        return lambda value: Jsonb(value, dumps) if type(value) in (dict, list) else prepared(value)
    if kind == "DateTimeField":
        return lambda value: value if getattr(value, "tzinfo", None) is not None else prepared(value)
    return prepared


def _from_obj(field: models.Field):
    """How an instance's value of ``field`` reaches COPY (through ``pre_save``, as ``save()`` does, unless plain)."""
    prep = _prep(field)
    if prep is None:
        return attrgetter(field.attname)
    return lambda obj: prep(field.pre_save(obj, True))


def _prepared(prep, index):
    return lambda row: prep(row[index])


def _default(field):
    return lambda row: field.get_db_prep_save(field.get_default(), connection)


def _constant(value):
    return lambda row: value


def _now(row):
    return timezone.now()


_PLAIN_TYPES = frozenset({"CharField", "TextField", "IntegerField", "BigIntegerField", "PositiveIntegerField",
                          "PositiveSmallIntegerField", "SmallIntegerField", "BooleanField", "ForeignKey", "DateField",
                          "DecimalField", "UUIDField", "AutoField", "BigAutoField"})


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
