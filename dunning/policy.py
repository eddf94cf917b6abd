"""The shape of a dunning policy: defaults (CONTRACT §8), the reminder ladder's steps, validation.

Pure functions over plain values, so the settings screen, the API and the model share one set of
rules and one set of error messages.

A ladder step is ``{"key", "label", "anchor", "retry", "offset_days", "template", "channel"}``:
``anchor`` is ``failure`` (the failure date), ``retry`` (the date of retry number ``retry``) or
``suspension`` (the planned suspension date), and ``offset_days`` moves the step from there
(negative = before). Anchoring steps to retries and the suspension is what keeps the reminder
ladder and the retry schedule from drifting apart when either is edited.
"""
from __future__ import annotations

from typing import Any

DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_INTERVAL_DAYS = [1, 2, 3, 5, 7]
DEFAULT_GRACE_PERIOD_DAYS = 30

ANCHORS = ("failure", "retry", "suspension")
CHANNELS = ("email", "in_app", "webhook")
METHOD_SOURCES = ("default_card", "other_cards")
MAX_DAYS = 365

DEFAULT_LADDER: list[dict[str, Any]] = [
    {"key": "payment_failed", "label": "Payment failed", "anchor": "failure", "retry": None, "offset_days": 0,
     "template": "payment_failed", "channel": "email"},
    {"key": "action_required", "label": "Action required", "anchor": "retry", "retry": 2, "offset_days": 0,
     "template": "dunning_reminder", "channel": "email"},
    {"key": "final_warning", "label": "Final warning", "anchor": "suspension", "retry": None, "offset_days": -3,
     "template": "final_warning", "channel": "email"},
    {"key": "suspended", "label": "Suspended", "anchor": "suspension", "retry": None, "offset_days": 0,
     "template": "subscription_suspended", "channel": "email"},
]


def default_intervals() -> list[int]:
    return list(DEFAULT_RETRY_INTERVAL_DAYS)


def default_ladder() -> list[dict[str, Any]]:
    return [dict(step) for step in DEFAULT_LADDER]


def default_method_order() -> list[str]:
    return list(METHOD_SOURCES)


def _as_int(value, field: str, errors: dict) -> int | None:
    if isinstance(value, bool):
        errors.setdefault(field, []).append("Must be a whole number.")
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.setdefault(field, []).append("Must be a whole number.")
        return None
    if str(number) != str(value).strip() and not isinstance(value, int):
        errors.setdefault(field, []).append("Must be a whole number.")
        return None
    return number


def clean_policy(data: dict[str, Any], *, template_kinds: set[str] | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Normalise and validate policy fields; returns (clean values, {field: [errors]})."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}

    max_retries = _as_int(data.get("max_retries"), "max_retries", errors)
    if max_retries is not None:
        if not 0 <= max_retries <= 20:
            errors.setdefault("max_retries", []).append("Between 0 and 20 retries.")
        clean["max_retries"] = max_retries

    raw_intervals = data.get("retry_interval_days")
    if isinstance(raw_intervals, str):
        raw_intervals = [part for part in raw_intervals.replace(" ", "").split(",") if part]
    if not isinstance(raw_intervals, (list, tuple)):
        errors.setdefault("retry_interval_days", []).append("A list of days, e.g. 1, 2, 3, 5, 7.")
    else:
        intervals = []
        for value in raw_intervals:
            number = _as_int(value, "retry_interval_days", errors)
            if number is None:
                break
            if not 1 <= number <= MAX_DAYS:
                errors.setdefault("retry_interval_days", []).append(f"Each interval must be between 1 and {MAX_DAYS} days (got {number}).")
                break
            intervals.append(number)
        clean["retry_interval_days"] = intervals
        if max_retries is not None and "retry_interval_days" not in errors and len(intervals) != max_retries:
            errors.setdefault("retry_interval_days", []).append(
                f"Give exactly one interval per retry: {max_retries} retries need {max_retries} intervals, not {len(intervals)}."
            )

    grace = _as_int(data.get("grace_period_days"), "grace_period_days", errors)
    if grace is not None:
        if not 1 <= grace <= MAX_DAYS:
            errors.setdefault("grace_period_days", []).append(f"Between 1 and {MAX_DAYS} days.")
        clean["grace_period_days"] = grace

    for flag in ("suspend_after_retries", "auto_retry_enabled"):
        value = data.get(flag)
        if isinstance(value, str):
            value = value.strip().lower() in {"1", "true", "on", "yes"}
        clean[flag] = bool(value)

    order = data.get("retry_method_order")
    if isinstance(order, str):
        order = [part for part in order.replace(" ", "").split(",") if part]
    if not isinstance(order, (list, tuple)) or not order:
        errors.setdefault("retry_method_order", []).append(f"Choose one or more of {', '.join(METHOD_SOURCES)}.")
    else:
        unknown = [item for item in order if item not in METHOD_SOURCES]
        if unknown:
            errors.setdefault("retry_method_order", []).append(f"Unknown method source(s): {', '.join(map(str, unknown))}.")
        elif len(set(order)) != len(order):
            errors.setdefault("retry_method_order", []).append("Each method source may appear once.")
        clean["retry_method_order"] = list(order)

    ladder = data.get("ladder")
    if not isinstance(ladder, (list, tuple)) or not ladder:
        errors.setdefault("ladder", []).append("The reminder ladder needs at least one step.")
    else:
        steps, keys = [], set()
        for index, raw in enumerate(ladder, start=1):
            prefix = f"Step {index}"
            if not isinstance(raw, dict):
                errors.setdefault("ladder", []).append(f"{prefix}: must be an object.")
                continue
            key = str(raw.get("key") or "").strip()
            if not key:
                errors.setdefault("ladder", []).append(f"{prefix}: a key is required.")
            elif key in keys:
                errors.setdefault("ladder", []).append(f"{prefix}: the key {key!r} is used twice.")
            keys.add(key)
            anchor = raw.get("anchor")
            if anchor not in ANCHORS:
                errors.setdefault("ladder", []).append(f"{prefix}: anchor must be one of {', '.join(ANCHORS)}.")
            retry = raw.get("retry")
            if anchor == "retry":
                retry = _as_int(retry, "ladder", errors)
                if retry is not None and max_retries is not None and not 1 <= retry <= max(max_retries, 0):
                    errors.setdefault("ladder", []).append(
                        f"{prefix}: is anchored to retry {retry}, but the policy has {max_retries} retries."
                    )
            else:
                retry = None
            offset = _as_int(raw.get("offset_days", 0), "ladder", errors)
            if offset is not None and abs(offset) > MAX_DAYS:
                errors.setdefault("ladder", []).append(f"{prefix}: offset must be within {MAX_DAYS} days.")
            if offset is not None and anchor == "failure" and offset < 0:
                errors.setdefault("ladder", []).append(f"{prefix}: a step cannot come before the failure.")
            template = raw.get("template")
            if template_kinds is not None and template not in template_kinds:
                errors.setdefault("ladder", []).append(f"{prefix}: unknown template {template!r}.")
            channel = raw.get("channel", "email")
            if channel not in CHANNELS:
                errors.setdefault("ladder", []).append(f"{prefix}: channel must be one of {', '.join(CHANNELS)}.")
            steps.append({
                "key": key, "label": str(raw.get("label") or key.replace("_", " ").capitalize()), "anchor": anchor,
                "retry": retry, "offset_days": offset or 0, "template": template, "channel": channel,
            })
        clean["ladder"] = steps
    return clean, errors
