"""The audit trail's single writer."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models, transaction

from accounts.models import AuditEntry
from billing_ops.actors import actor_label, actor_user
from billing_ops.request_context import current_ip


def _plain(value: Any) -> Any:
    if value is None or type(value) in (str, int, bool):  # most values: nothing to do
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The named fields of ``obj`` as JSON-safe values, for before/after."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def _who(actor) -> dict[str, Any]:
    return {"actor": actor_user(actor), "actor_label": actor_label(actor), "ip_address": current_ip()}


def _values(
    who: dict[str, Any],
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    tenant_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """An entry's field values: the object's type, id and tenant taken from ``obj`` unless given."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
        if tenant_id is None:
            tenant_id = obj.pk if obj._meta.label_lower == "accounts.tenant" else getattr(obj, "tenant_id", None)
    return {**who, "action": action, "object_type": object_type or "", "object_id": str(object_id or ""), "tenant_id": tenant_id,
            "before": _plain(before or {}), "after": _plain(after or {}), "reason": reason or ""}


def record(*, actor, action: str, **fields: Any) -> AuditEntry:
    """Append one audit entry; must run inside the transaction of the change it records.

    ``fields``: ``obj`` (or ``object_type``/``object_id``), ``tenant_id``, ``before``, ``after``, ``reason``."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the change it records")
    entry = AuditEntry(**_values(_who(actor), action=action, **fields))
    entry.save(force_insert=True)
    return entry


def record_many(*, actor, entries: list[dict]) -> None:
    """``record`` for a batch of changes, written in one go (``billing_ops.bulk.insert_values``). Each entry
    holds ``action``, ``obj`` and optionally ``before``, ``after`` and ``reason``; must run inside the
    transaction of the changes."""
    from billing_ops.bulk import insert_values

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record_many must run inside the transaction of the changes it records")
    if not entries:
        return
    who = _who(actor)
    who["actor_id"] = getattr(who.pop("actor"), "pk", None)
    rows = [_values(who, **entry) for entry in entries]  # the same keys, in the same order, for each
    insert_values(AuditEntry, list(rows[0]), [tuple(row.values()) for row in rows])
