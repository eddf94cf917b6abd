"""Who did it: a staff user, or a named system process (a task, the Paystack webhook)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SystemActor:
    """A process acting on its own schedule; it holds every capability its job needs."""

    name: str

    is_authenticated = True
    is_system = True
    pk = None

    def __str__(self) -> str:
        return f"system:{self.name}"


def system(name: str) -> SystemActor:
    return SystemActor(name)


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, SystemActor):
        return str(actor)
    return getattr(actor, "username", None) or str(actor)


def actor_user(actor):
    """The staff user behind ``actor``, or None for a system actor."""
    if actor is None or isinstance(actor, SystemActor):
        return None
    return actor
