"""Domain events: ``emit`` records the event and runs its subscribers in the same transaction.

Subscribers only change the database (through services), so an event and everything it causes
commit or roll back together. Anything that leaves the process (emails, webhooks to tenant
deployments, Celery work) is scheduled by subscribers with ``transaction.on_commit`` or written
to an outbox and delivered by a task, never done inline.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger(__name__)

Subscriber = Callable[["Event"], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


class Event:
    __slots__ = ("actor", "name", "payload", "record")

    def __init__(self, name: str, payload: dict[str, Any], actor, record):
        self.name = name
        self.payload = payload
        self.actor = actor
        self.record = record

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


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


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
    from billing_ops.actors import actor_label
    from billing_ops.bulk import insert_rows
    from billing_ops.models import DomainEvent

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"emit_many({name!r}) must run inside the transaction of the change it reports")
    label = actor_label(actor)
    data = [_jsonable(payload) for payload in payloads]
    records = [DomainEvent(name=name, payload=item, actor_label=label) for item in data]  # ids (uuid4) set here
    insert_rows(DomainEvent, records)
    emitted = [Event(name, item, actor, record) for item, record in zip(data, records, strict=True)]
    for subscriber in list(_subscribers.get(name, ())):
        many = getattr(subscriber, "for_many", None)
        if many is not None and len(emitted) > 1:
            many(emitted)
        else:
            for event in emitted:
                subscriber(event)
    return emitted
