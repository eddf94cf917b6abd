"""State machines: explicit transition tables checked in one place."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from billing_ops.errors import TransitionNotAllowed

TransitionTable = Mapping[str, Iterable[str]]


def check_transition(*, table: TransitionTable, current: str, target: str, label: str) -> None:
    """Raise TransitionNotAllowed unless ``current -> target`` is in ``table``."""
    if target not in table.get(current, ()):
        allowed = ", ".join(sorted(table.get(current, ()))) or "none"
        raise TransitionNotAllowed(
            f"A {label} cannot move from '{current}' to '{target}' (allowed from '{current}': {allowed}).",
            code="transition_not_allowed",
        )
