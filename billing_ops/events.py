"""Domain events: ``emit`` records the event and runs its subscribers in the same transaction.

Subscribers only change the database (through services), so an event and everything it causes
commit or roll back together. Anything that leaves the process (emails, webhooks to tenant
deployments, Celery work) is scheduled by subscribers with ``transaction.on_commit`` or written
to an outbox and delivered by a task, never done inline.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger(__name__)

Subscriber = Callable[["Event"], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


class Event:
    __slots__ = ("_record", "_stored", "actor", "name", "payload")

    def __init__(self, name: str, payload: dict[str, Any], actor, record=None, *, stored: tuple | None = None):
        self.name = name
        self.payload = payload
        self.actor = actor
        self._record = record
        self._stored = stored  # (id, actor_label, created_at) of a record written without an instance (emit_many)

    @property
    def record(self):
        """The event's ``DomainEvent`` row."""
        if self._record is None and self._stored is not None:
            from billing_ops.models import DomainEvent

            pk, label, created_at = self._stored
            self._record = DomainEvent(id=pk, name=self.name, payload=self.payload, actor_label=label, created_at=created_at)
            self._record._state.adding = False
        return self._record

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {self.payload!r})"


def subscribe(*names: str) -> Callable[[Subscriber], Subscriber]:
    """Decorator: run the function for each event named (registered from an app's ready())."""

    def register(func: Subscriber) -> Subscriber:
        for name in names:
            if func not in _subscribers[name]:
                _subscribers[name].append(func)
        return func

    return register


def _jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (``DjangoJSONEncoder``): the common types converted directly,
    anything else through a JSON round trip."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is Decimal:
        return str(value)
    if kind is dt.date:
        return value.isoformat()
    if kind is dict and all(type(key) is str for key in value):
        return {key: _jsonable(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_jsonable(item) for item in value]
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def emit(name: str, *, actor=None, **payload: Any) -> Event:
    """Record event ``name`` and run its subscribers; must be called inside the change's transaction."""
    from billing_ops.actors import actor_label
    from billing_ops.models import DomainEvent

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"emit({name!r}) must run inside the transaction of the change it reports")
    data = _jsonable(payload)
    record = DomainEvent.objects.create(name=name, payload=data, actor_label=actor_label(actor))
    event = Event(name, data, actor, record)
    for subscriber in list(_subscribers.get(name, ())):
        subscriber(event)
    return event


def emit_many(name: str, *, actor=None, payloads: list[dict[str, Any]]) -> list[Event]:
    """``emit`` for many events of one name (a batch of the same change): the records are written with
    one insert, then each subscriber runs — once for all the events when it offers a batch form
    (``subscriber.for_many = func(events)``, which must have exactly the per-event effects), else once per event;
    a single event always goes to the per-event subscriber, exactly as ``emit`` would.
    Must be called inside the change's transaction."""
    from django.utils import timezone

    from billing_ops.actors import actor_label
    from billing_ops.bulk import insert_values
    from billing_ops.models import DomainEvent

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"emit_many({name!r}) must run inside the transaction of the change it reports")
    label = actor_label(actor)
    rows = [(uuid.uuid4(), name, _jsonable(payload), label, timezone.now()) for payload in payloads]
    insert_values(DomainEvent, ["id", "name", "payload", "actor_label", "created_at"], rows)
    emitted = [Event(name, payload, actor, stored=(pk, label, created_at)) for pk, _, payload, _, created_at in rows]
    for subscriber in list(_subscribers.get(name, ())):
        many = getattr(subscriber, "for_many", None)
        if many is not None and len(emitted) > 1:
            many(emitted)
        else:
            for event in emitted:
                subscriber(event)
    return emitted
