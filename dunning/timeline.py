"""The one place that computes a dunning case's planned dates.

``plan_timeline(policy, failure_date, due_date)`` gives the exact date of every retry, every
reminder of the ladder and the suspension. The policy screen's preview, the case page and the
tasks all call it; nothing else computes dunning dates.

Rules (documented in docs/dunning.md):
- retry *n* is on ``failure_date + sum(retry_interval_days[:n])`` (no retries when auto-retry is off);
- the suspension is on the earlier of "the day after the last retry" (when ``suspend_after_retries``
  and there are retries) and ``(due_date or failure_date) + grace_period_days``, never before the
  failure date;
- a ladder step is on its anchor's date plus ``offset_days``, never before the failure date and
  never before the previous step (so ``step`` — reminders sent — always follows the ladder order).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

RETRY, REMINDER, SUSPENSION = "retry", "reminder", "suspension"


@dataclass(frozen=True)
class PlannedEvent:
    kind: str  # retry | reminder | suspension
    date: dt.date
    number: int  # retry number or ladder step number (1-based); 0 for the suspension
    label: str
    template: str = ""
    channel: str = ""
    key: str = ""
    at_suspension: bool = False  # a ladder step sent by the suspension itself


@dataclass(frozen=True)
class Timeline:
    failure_date: dt.date
    retries: list[PlannedEvent] = field(default_factory=list)
    reminders: list[PlannedEvent] = field(default_factory=list)
    suspension: PlannedEvent | None = None

    @property
    def events(self) -> list[PlannedEvent]:
        order = {RETRY: 0, REMINDER: 1, SUSPENSION: 2}
        items = [*self.retries, *self.reminders, *([self.suspension] if self.suspension else [])]
        return sorted(items, key=lambda e: (e.date, order[e.kind], e.number))

    def retry_due(self, *, retries_done: int, today: dt.date) -> PlannedEvent | None:
        """The next retry if its date has come."""
        if retries_done < len(self.retries) and self.retries[retries_done].date <= today:
            return self.retries[retries_done]
        return None

    def reminder_due(self, *, step: int, today: dt.date, suspended: bool) -> PlannedEvent | None:
        """The next ladder step if its date has come (steps sent by the suspension wait for it)."""
        if step >= len(self.reminders):
            return None
        nxt = self.reminders[step]
        if nxt.at_suspension and not suspended:
            return None
        return nxt if nxt.date <= today else None

    def next_action(self, *, retries_done: int, step: int, suspended: bool) -> PlannedEvent | None:
        """The earliest planned event not yet done."""
        pending = list(self.retries[retries_done:retries_done + 1])
        # Steps go in ladder order, so only the next one can be due; a step sent by the
        # suspension is not an action of its own until the case is suspended.
        if step < len(self.reminders) and (suspended or not self.reminders[step].at_suspension):
            pending.append(self.reminders[step])
        if not suspended and self.suspension is not None:
            pending.append(self.suspension)
        if not pending:
            return None
        order = {RETRY: 0, REMINDER: 1, SUSPENSION: 2}
        return min(pending, key=lambda e: (e.date, order[e.kind], e.number))


def _get(policy: Any, name: str):
    return policy[name] if isinstance(policy, dict) else getattr(policy, name)


def plan_timeline(policy: Any, failure_date: dt.date, due_date: dt.date | None = None) -> Timeline:
    """Every planned retry, reminder and the suspension for a case that failed on ``failure_date``."""
    intervals = [int(d) for d in _get(policy, "retry_interval_days")][: int(_get(policy, "max_retries"))]
    nominal, day = [], failure_date
    for interval in intervals:
        day = day + dt.timedelta(days=interval)
        nominal.append(day)
    retries = []
    if _get(policy, "auto_retry_enabled"):
        retries = [PlannedEvent(RETRY, d, n, f"Retry {n}") for n, d in enumerate(nominal, start=1)]

    grace_date = (due_date or failure_date) + dt.timedelta(days=int(_get(policy, "grace_period_days")))
    suspension_date = grace_date
    if _get(policy, "suspend_after_retries") and retries:
        suspension_date = min(suspension_date, retries[-1].date + dt.timedelta(days=1))
    suspension_date = max(suspension_date, failure_date)
    suspension = PlannedEvent(SUSPENSION, suspension_date, 0, "Suspension")

    reminders, floor = [], failure_date
    for number, step in enumerate(_get(policy, "ladder"), start=1):
        anchor = step.get("anchor", "failure")
        if anchor == "retry":
            index = max(int(step.get("retry") or 1), 1)
            base = nominal[min(index, len(nominal)) - 1] if nominal else failure_date
        elif anchor == "suspension":
            base = suspension_date
        else:
            base = failure_date
        date = max(base + dt.timedelta(days=int(step.get("offset_days") or 0)), floor)
        floor = date
        reminders.append(PlannedEvent(
            REMINDER, date, number, step.get("label") or step.get("key", f"Step {number}"),
            template=step.get("template", ""), channel=step.get("channel", "email"), key=step.get("key", ""),
            at_suspension=anchor == "suspension" and int(step.get("offset_days") or 0) == 0,
        ))
    return Timeline(failure_date=failure_date, retries=retries, reminders=reminders, suspension=suspension)
